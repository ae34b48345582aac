"""Box size from the CNN's regression and the blob's own extent, fitted on training clips.

Why: on the held-out fifth of the training clips the largest loss of the camera detector was
neither proposals nor class but box size. Objects the CNN placed and named right missed
IoU >= 0.5 because their boxes were shrunk towards a middle size: thermal objects 16-32 px
across came out 23 % too small, 32-64 px ones 45 % too small, small ones slightly too big
(median log ratios -0.19/-0.26, -0.63/-0.47, +0.06/+0.13), while the centres were within
5-8 % of the size. A least-squares line per axis from the regression's log width and height,
the contrast blob's log width and height and its log contrast removes most of that
size-dependent bias: the blob's extent grows with the object where the regression saturates.

``fit`` runs every ``step``-th frame of the *fit* clips (the training clips less the
validation fifth) through the proposals and the CNN, pairs each label with the proposal
centred inside it (at every pyramid level, in that level's pixels), and solves for the six
coefficients per axis. The coefficients ship in ``vision_detect.PARAMS`` (``box``);
``skywarden vision fit-box`` reproduces them. ``by_class`` (``fit-box --by-class``) fits one
set per class the CNN names, on the pairs it would report (``class_box``; shipped for
visible video, session 13: its labels are padded very differently by class).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

Coef = tuple[tuple[float, ...], tuple[float, ...]]  # (log width, log height) x 6 features


def features(c: Any, reg: NDArray[np.float32]) -> list[float]:
    """[1, regression log w, log h, blob log w, log h, log contrast] (working scale)."""
    return [
        1.0,
        float(reg[2]),
        float(reg[3]),
        math.log(max(c.w, 1.0)),
        math.log(max(c.h, 1.0)),
        math.log(max(c.contrast, 1e-3)),
    ]


def refine(c: Any, reg: NDArray[np.float32], coef: Coef) -> NDArray[np.float32]:
    """The regression with its log width and height replaced by the fitted lines."""
    f = features(c, reg)
    out = np.array(reg, dtype=np.float32, copy=True)
    out[2] = sum(a * b for a, b in zip(coef[0], f, strict=True))
    out[3] = sum(a * b for a, b in zip(coef[1], f, strict=True))
    return out


def pairs(
    data_dir: str | Path, sensor: str, step: int = 3
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float32]]:
    """(features (N, 6), label log width and height (N, 2), class probabilities (N, 5)) of
    every label-proposal pair of the fit clips: each label with the first proposal centred
    inside it, at every pyramid level, in that level's pixels, every ``step``-th frame."""
    from skywarden.nodes.vision_detect import load_model

    return pairs_of([load_model(sensor)], data_dir, sensor, step)[0]


def pairs_of(
    models: Sequence[Any], data_dir: str | Path, sensor: str, step: int = 3
) -> list[tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float32]]]:
    """``pairs`` for each of several graphs (``CnnModel``) at once, over one pass of
    proposals and chips: the pairs are the same, the regressions and probabilities each
    graph's own (``benchmarks/vision_looks.py`` compares graphs' box lines so)."""
    from skywarden.nodes.dd_labels import read_labels
    from skywarden.nodes.video_io import frames
    from skywarden.nodes.vision_cnn import chips
    from skywarden.nodes.vision_detect import PARAMS, levels, prepare
    from skywarden.nodes.vision_train import part_paths

    p = PARAMS[sensor]
    rows: list[tuple[list[list[float]], list[tuple[float, float]], list[NDArray[np.float32]]]]
    rows = [([], [], []) for _ in models]
    for path in part_paths(data_dir, sensor, "fit"):
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        for i, frame in frames(path):
            if i % step or i >= len(labels) or not labels[i]:
                continue
            g = prepare(frame, p)
            for lv in levels(g, p):
                if not lv.cands:
                    continue
                x, e = chips(lv.gray, lv.cands)
                outs = [m.run(x, e) for m in models]
                s = p.scale / lv.factor
                for b in labels[i]:
                    for j, c in enumerate(lv.cands):
                        if (
                            b.x * s <= c.cx <= (b.x + b.w) * s
                            and b.y * s <= c.cy <= (b.y + b.h) * s
                        ):
                            for (x_rows, y_rows, p_rows), (probs, reg) in zip(
                                rows, outs, strict=True
                            ):
                                x_rows.append(features(c, reg[j]))
                                y_rows.append((math.log(b.w * s), math.log(b.h * s)))
                                p_rows.append(probs[j])
                            break
    return [
        (
            np.asarray(xr, dtype=np.float64).reshape(-1, 6),
            np.asarray(yr, dtype=np.float64).reshape(-1, 2),
            np.asarray(pr, dtype=np.float32).reshape(-1, len(m.classes)),
        )
        for (xr, yr, pr), m in zip(rows, models, strict=True)
    ]


def lines(x: NDArray[np.float64], y: NDArray[np.float64]) -> Coef:
    """Least-squares lines (log width, log height) from ``features`` rows, rounded."""
    sol, *_ = np.linalg.lstsq(x, y, rcond=None)
    return (
        tuple(round(float(v), 4) for v in sol[:, 0]),
        tuple(round(float(v), 4) for v in sol[:, 1]),
    )


def fit(data_dir: str | Path, sensor: str, step: int = 3) -> tuple[Coef, int]:
    """(coefficients, number of label-proposal pairs) from the fit clips."""
    x, y, _ = pairs(data_dir, sensor, step)
    return lines(x, y), len(x)


MIN_CLASS_PAIRS = 200  # a class with fewer reported pairs keeps the common lines


def by_class(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    probs: NDArray[np.float32],
    classes: tuple[str, ...],
    min_score: float,
) -> tuple[tuple[tuple[str, Coef], ...], dict[str, int]]:
    """Lines per class the CNN names, from the pairs it would report (object score
    1 - P(background) >= ``min_score``), and the pairs per class.

    Why per class: the labels are not the object's extent but the annotator's box around it,
    and how much it is padded depends on the class (session 13, visible validation clips:
    the object fills a median 0.41 of a helicopter's and 0.37 of an aeroplane's label, 0.08
    of a drone's and 0.03 of a bird's), so one line for all classes is biased for each. Why
    only reported pairs: they are the ones whose box is scored."""
    bg = classes.index("background")
    named = probs.copy()
    named[:, bg] = -1.0
    k = named.argmax(axis=1)
    reported = 1.0 - probs[:, bg] >= min_score
    out: list[tuple[str, Coef]] = []
    counts: dict[str, int] = {}
    for j, name in enumerate(classes):
        m = reported & (k == j)
        counts[name] = int(m.sum())
        if j != bg and m.sum() >= MIN_CLASS_PAIRS:
            out.append((name, lines(x[m], y[m])))
    return tuple(out), counts
