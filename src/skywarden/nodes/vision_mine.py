"""Hard-example mining for the chip CNN: the current net's confident mistakes on the fit clips,
added to the chip cache before a retrain.

Why: the training cache (``vision_cnn_train.extract``) draws its background chips at random
(six a frame and level), so most of them are plain sky the net never confuses; the frame-level
false positives that force the visible object threshold to the top of the grid (0.99,
session 10) are the few background blobs -- branches, cloud edges, roof lines -- that look
like an object, and objects called by the wrong class (visible aeroplanes named drone). A pass
of the shipped net over frames of the fit clips that the cache did not sample (``offset``)
collects exactly those:

- **hard negatives**: proposals outside every label box grown by half (``_label_of`` says
  background) whose object score 1 - P(background) is at least ``min_obj``; the
  ``per_frame`` highest of a frame (all pyramid levels together) are kept;
- **wrong-class positives**: proposals centred in a label box, scored as an object
  (>= ``min_obj``), whose best object class is not the label's; kept with their box target.

Only the *fit* clips are mined (the validation fifth stays unseen by training, so the choice
of thresholds and epochs on it stays honest); the examples keep their clip's group index, so
``vision_cnn_train.fit`` treats them like the rest of the cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.dd_labels import Box, read_labels
from skywarden.nodes.video_io import frames
from skywarden.nodes.vision_cnn import CHIP, N_EXTRA, CnnModel, chips
from skywarden.nodes.vision_cnn_train import box_target
from skywarden.nodes.vision_detect import PARAMS, SensorParams, levels, prepare
from skywarden.nodes.vision_train import VAL_EVERY, _label_of, clip_paths

KEYS = ("x", "e", "y", "rt", "groups")


Example = tuple[NDArray[np.float32], NDArray[np.float32], int, list[float]]  # x, e, y, rt


def mine(
    data_dir: str | Path,
    sensor: str,
    model: CnnModel,
    stride: int = 3,
    offset: int = 1,
    min_obj: float = 0.5,
    per_frame: int = 4,
) -> dict[str, NDArray[Any]]:
    """Hard examples (chip-cache layout: x, e, y, rt, groups) of every ``stride``-th frame,
    starting at ``offset``, of the fit clips, scored by ``model``."""
    params = PARAMS[sensor]
    rows: list[Example] = []
    groups: list[int] = []
    for g, path in enumerate(clip_paths(data_dir, sensor, test=False)):
        if g % VAL_EVERY == 0:
            continue
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        for i, frame in frames(path):
            if i % stride != offset or i >= len(labels):
                continue
            found = frame_examples(
                prepare(frame, params), labels[i], params, model, min_obj, per_frame
            )
            rows += found
            groups += [g] * len(found)
    n = len(rows)
    return {
        "x": np.stack([r[0] for r in rows]).astype(np.float16)
        if n
        else np.zeros((0, 2, CHIP, CHIP), np.float16),
        "e": np.stack([r[1] for r in rows]) if n else np.zeros((0, N_EXTRA), np.float32),
        "y": np.asarray([r[2] for r in rows], dtype=np.int64),
        "rt": np.asarray([r[3] for r in rows], dtype=np.float32).reshape(n, 4),
        "groups": np.asarray(groups, dtype=np.int32),
    }


def frame_examples(
    gray: NDArray[np.float32],
    labels: list[Box],
    params: SensorParams,
    model: Any,
    min_obj: float,
    per_frame: int,
) -> list[Example]:
    """One working-scale frame's hard examples: its wrong-class positives, then its
    ``per_frame`` most confident hard negatives (all pyramid levels together). ``model``:
    anything with ``classes`` and ``run(x, e) -> (probs, box)`` (``CnnModel``)."""
    bg = model.classes.index("background")
    out: list[Example] = []
    negs: list[tuple[float, Example]] = []
    for lv in levels(gray, params):
        if not lv.cands:
            continue
        s = params.scale / lv.factor
        boxes = [Box(b.x * s, b.y * s, b.w * s, b.h * s, b.label) for b in labels]
        x, e = chips(lv.gray, lv.cands)
        probs, _ = model.run(x, e)
        for j, c in enumerate(lv.cands):
            obj = 1.0 - float(probs[j, bg])
            if obj < min_obj:
                continue
            label, box = _label_of(c, boxes)
            if label == "background":
                negs.append((obj, (x[j], e[j], bg, [0.0, 0.0, 0.0, 0.0])))
                continue
            p = np.array(probs[j], dtype=np.float64)
            p[bg] = -1.0
            if box is not None and model.classes[int(np.argmax(p))] != label:
                out.append((x[j], e[j], model.classes.index(label), box_target(c, box)))
    negs.sort(key=lambda t: -t[0])
    return out + [ex for _, ex in negs[:per_frame]]


def merge(base: dict[str, NDArray[Any]], extra: dict[str, NDArray[Any]]) -> dict[str, Any]:
    """The cache ``base`` with ``extra``'s chips appended (its label coverage kept). Appended
    at the end, so ``fit``'s seeded draws for the base chips are unchanged."""
    out: dict[str, Any] = {
        k: np.concatenate([base[k], extra[k].astype(base[k].dtype)]) for k in KEYS
    }
    out["coverage"] = base["coverage"]
    return out
