"""A second look at large thermal objects: a chip CNN on the frame shrunk by ``FACTOR``.

Why (issue 23, sessions 12-18): the chip CNN sees a 32-pixel window at working scale, so an
object over about 24 px -- where the thermal aeroplanes named helicopter are -- shows it a
patch of fuselage, and its 96-pixel context a third of the scene. Visible frames have a
pyramid for this (session 10); thermal frames only a coarse *proposal* scale (``coarse_sigma``)
whose blobs are still looked at 1:1. Here every proposal whose blob spans ``MIN_PX`` or more
(level pixels) gets a second pair of chips cut from the frame shrunk by ``FACTOR`` (its
``FACTOR * CHIP``-pixel neighbourhood and ``FACTOR * CONTEXT`` context, the same chip code),
and a second net of the shipped shape, trained only on such chips, gives class probabilities
that are combined with the first net's (``combine``). The box stays the first net's (with the
blob floor, session 13): the second look is about the class.

Training samples (``extract``): the training clips, every ``stride``-th frame, the large
proposals of ``vision_detect.levels`` labelled as ``vision_cnn_train.extract`` labels them
(centre inside a label: its class; outside every label grown by half: background, at most
``neg_per_frame`` a frame; the rest left out); the same npz layout, so ``vision_cnn_train.fit``
trains on it unchanged (validation fifth held out by clip as for the first net).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.mlp import WEIGHTS_DIR
from skywarden.nodes.vision_cnn import CnnModel, chips

FACTOR = 2.0  # the frame is shrunk by this much for the second look
MIN_PX = 24.0  # proposals whose blob spans this many level pixels or more get it
MODES = ("replace", "mean", "class")


@dataclass(frozen=True)
class SecondLook:
    """A sensor's second look (``SensorParams.second``): the net's file in ``weights/``, how
    its probabilities join the first net's (``combine``), from which blob size, at which
    shrink."""

    weights: str
    mode: str = "mean"
    min_px: float = MIN_PX
    factor: float = FACTOR


@lru_cache(maxsize=4)
def load_second(weights: str) -> CnnModel:
    return CnnModel(WEIGHTS_DIR / weights)


def look_again(
    levels: list[Any], probs: NDArray[np.float32], look: SecondLook
) -> NDArray[np.float32]:
    """``probs`` (the first net's, proposals of ``levels`` in order) with the rows of large
    proposals combined with the second net's (``combine``); the others unchanged."""
    p2s, rows, off = [], [], 0
    for v in levels:
        idx = large(v.cands, look.min_px)
        if len(idx):
            x, e = coarse_chips(v.gray, [v.cands[j] for j in idx], look.factor)
            p2s.append(load_second(look.weights).run(x, e)[0])
            rows.append(idx + off)
        off += len(v.cands)
    if not rows:
        return probs
    out = probs.copy()
    i = np.concatenate(rows)
    out[i] = combine(probs[i], np.concatenate(p2s), look.mode)
    return out


@dataclass(frozen=True)
class _Scaled:
    """A proposal in the shrunk frame's pixels (what ``vision_cnn.chips`` reads)."""

    cx: float
    cy: float
    w: float
    h: float
    contrast: float


def large(cands: list[Any], min_px: float = MIN_PX) -> NDArray[np.int64]:
    """Indices of the proposals whose blob spans ``min_px`` level pixels or more."""
    return np.asarray([i for i, c in enumerate(cands) if max(c.w, c.h) >= min_px], dtype=np.int64)


def coarse_chips(
    gray: NDArray[np.float32], cands: list[Any], factor: float = FACTOR
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """``vision_cnn.chips`` of ``cands`` (level pixels) cut from ``gray`` shrunk by ``factor``
    (area interpolation): each chip then shows ``factor`` times the first net's window."""
    import cv2

    small = np.asarray(
        cv2.resize(gray, None, fx=1.0 / factor, fy=1.0 / factor, interpolation=cv2.INTER_AREA),
        dtype=np.float32,
    )
    s = 1.0 / factor
    return chips(small, [_Scaled(c.cx * s, c.cy * s, c.w * s, c.h * s, c.contrast) for c in cands])


def combine(p1: NDArray[np.float32], p2: NDArray[np.float32], mode: str) -> NDArray[np.float32]:
    """The class probabilities of large proposals from the first net's ``p1`` and the second
    look's ``p2`` (rows of ``CLASSES``, background first):

    - ``replace``: the second look's alone;
    - ``mean``: the average of the two (each row still sums to one);
    - ``class``: the first net's object score kept (P(background) is the first net's, so the
      threshold sees what it saw before), the object classes shared out as the second look
      names them: p[k] = (1 - p1[bg]) * p2[k] / (1 - p2[bg]) for k > 0.
    """
    if mode == "replace":
        return np.asarray(p2, dtype=np.float32).copy()
    if mode == "mean":
        return np.asarray((p1 + p2) / 2.0, dtype=np.float32)
    if mode == "class":
        out = np.empty_like(p1, dtype=np.float32)
        out[:, 0] = p1[:, 0]
        obj2 = np.maximum(p2[:, 1:].sum(axis=1, keepdims=True), 1e-12)
        out[:, 1:] = (1.0 - p1[:, :1]) * p2[:, 1:] / obj2
        return out
    raise ValueError(f"mode {mode!r}: expected one of {MODES}")


def extract(
    data_dir: str | Path,
    sensor: str = "ir",
    stride: int = 3,
    neg_per_frame: int = 6,
    seed: int = 0,
    min_px: float = MIN_PX,
    factor: float = FACTOR,
) -> dict[str, NDArray[Any]]:
    """The second look's training chips (``vision_cnn_train.extract``'s layout and labels,
    large proposals only, chips from ``coarse_chips``)."""
    from skywarden.nodes.dd_labels import Box, read_labels
    from skywarden.nodes.video_io import frames
    from skywarden.nodes.vision_cnn_train import ChipSet
    from skywarden.nodes.vision_detect import PARAMS, levels, prepare
    from skywarden.nodes.vision_train import clip_paths

    rng = np.random.default_rng(seed)
    out = ChipSet()
    params = PARAMS[sensor]
    n_labels = n_covered = 0
    for g, path in enumerate(clip_paths(data_dir, sensor, test=False)):
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        for i, frame in frames(path):
            if i % stride or i >= len(labels):
                continue
            gray = prepare(frame, params)
            covered: set[int] = set()
            for lv in levels(gray, params):
                idx = large(lv.cands, min_px)
                if not len(idx):
                    continue
                cands = [lv.cands[j] for j in idx]
                s = params.scale / lv.factor
                boxes = [Box(b.x * s, b.y * s, b.w * s, b.h * s, b.label) for b in labels[i]]
                x, e = coarse_chips(lv.gray, cands, factor)
                out.add_level(x, e, cands, boxes, g, rng, neg_per_frame, covered)
            n_labels += len(labels[i])
            n_covered += len(covered)
    return out.arrays(n_labels, n_covered)
