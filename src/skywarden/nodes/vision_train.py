"""Scoring of the camera detector on the drone-detection dataset's video, and the split's clip
lists (training itself: ``vision_cnn_train``).

``evaluate(sensor)``: every frame of every test clip through ``VideoDetector``; a detection is
right when its class matches a label's and IoU >= 0.5 (each label matched once, greedy by
score). Precision, recall and F1 overall, per distance bin and per class of clip, and frames
per second (detection only, decoding excluded, one thread). ``part="val"`` scores the
held-out fifth of the training clips instead (what thresholds are chosen on).
Needs the ``train`` extra (mcos-decoder) for the labels.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.dd_labels import CLASS_NAMES, Box, read_description, read_labels
from skywarden.nodes.split import is_test_clip
from skywarden.nodes.video_io import frames
from skywarden.nodes.vision_detect import (
    PARAMS,
    Candidate,
    Detection,
    FrameOutputs,
    SensorParams,
    iou,
)

SUBDIR = {"ir": "video_ir", "visible": "video_v"}


VAL_EVERY = 5  # training clips whose index in the sorted training list % 5 == 0: validation


def clip_paths(data_dir: str | Path, sensor: str, test: bool) -> list[Path]:
    d = Path(data_dir) / SUBDIR[sensor]
    return [p for p in sorted(d.glob("*.mp4")) if is_test_clip(p) == test]


def part_paths(data_dir: str | Path, sensor: str, part: str) -> list[Path]:
    """Clips of one part: 'test' (the split's), 'val' (a fifth of the training clips, held out
    of fitting) or 'fit' (the other training clips)."""
    if part == "test":
        return clip_paths(data_dir, sensor, test=True)
    train = clip_paths(data_dir, sensor, test=False)
    if part not in ("val", "fit"):
        raise ValueError(f"part {part!r}: expected test, val or fit")
    return [p for g, p in enumerate(train) if (g % VAL_EVERY == 0) == (part == "val")]


def _label_of(c: Candidate, boxes: list[Box]) -> tuple[str, Box | None]:
    for b in boxes:
        if b.x <= c.cx <= b.x + b.w and b.y <= c.cy <= b.y + b.h:
            return b.label, b
    for b in boxes:
        gx, gy = b.w * 0.5, b.h * 0.5
        if b.x - gx <= c.cx <= b.x + b.w + gx and b.y - gy <= c.cy <= b.y + b.h + gy:
            return "", None
    return "background", None


def pairs(dets: list[Detection], boxes: list[Box]) -> dict[int, int]:
    """The issue's matching of one frame, label index -> detection index: detections taken
    greedily by score, each to the unmatched label of its class it overlaps most, if that
    overlap is IoU >= 0.5."""
    used: dict[int, int] = {}
    for di in sorted(range(len(dets)), key=lambda i: -dets[i].score):
        d = dets[di]
        best, best_iou = -1, 0.5
        for j, b in enumerate(boxes):
            if j in used or b.label != d.label:
                continue
            v = iou(d.box, (b.x, b.y, b.w, b.h))
            if v >= best_iou:
                best, best_iou = j, v
        if best >= 0:
            used[best] = di
    return used


def match(dets: list[Detection], boxes: list[Box]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of one frame (``pairs``)."""
    tp = len(pairs(dets, boxes))
    return tp, len(dets) - tp, len(boxes) - tp


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


@dataclass(frozen=True)
class RawClip:
    """One clip's per-frame detections before thresholding and smoothing, and its labels."""

    stem: str
    dets: list[list[Detection]]
    labels: list[list[Box]]
    outputs: list[FrameOutputs] | None = None  # the CNN's, to threshold before NMS (``score``)


def raw_detections(
    data_dir: str | Path, sensor: str, part: str, floor: float = 0.4
) -> tuple[list[RawClip], float]:
    """Every frame of a part's clips through ``detect_frame`` at the lowest object threshold
    considered (``floor``), and the frames per second of that (CPU time, decoding excluded).
    Thresholding after NMS gives the same set as thresholding before it (a box is only ever
    suppressed by a higher-scored one), so any threshold >= floor can be scored from this --
    except with ``SensorParams.nest`` (the larger of two nested boxes stays, whatever its
    score): ``score`` given the params thresholds the kept CNN outputs before NMS instead."""
    from skywarden.nodes.vision_detect import detections, frame_outputs, load_model

    model = load_model(sensor)
    params = PARAMS[sensor]
    out, busy, n = [], 0.0, 0
    for path in part_paths(data_dir, sensor, part):
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        dets, outs = [], []
        for _, frame in frames(path):
            t0 = time.process_time()
            o = frame_outputs(frame, sensor, model)
            dets.append(detections(o, params, model.classes, floor))
            busy += time.process_time() - t0
            n += 1
            outs.append(o)
        out.append(RawClip(path.stem, dets, labels, outs))
    return out, (n / busy if busy else 0.0)


def score(
    clips: list[RawClip],
    desc: dict[str, str],
    min_score: float,
    decay: float,
    size_memory: float = 0.0,
    min_hits: int = 1,
    params: SensorParams | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """(scores overall / per distance bin / per class of clip, scores per clip) of raw
    detections thresholded at ``min_score`` and smoothed with ``decay``, as ``VideoDetector``
    would report them. With ``params`` and the clips' CNN outputs, the threshold is applied
    before NMS (``vision_detect.detections``), as the node does."""
    from skywarden.nodes.vision_cnn import CLASSES
    from skywarden.nodes.vision_detect import TrackSmoother, link_frame

    counts: dict[str, list[int]] = {}
    per_clip: dict[str, dict[str, float]] = {}
    for c in clips:
        # weak proposals are linked only from the CNN's outputs; raw detections have none
        ev = params.evidence if params is not None and c.outputs is not None else None
        motion = params.motion if params is not None else None
        sm = TrackSmoother(
            CLASSES,
            decay=decay,
            min_hits=min_hits,
            size_memory=size_memory,
            evidence=ev,
            motion=motion,
        )
        tot = [0, 0, 0]
        for i, dets in enumerate(c.dets):
            if params is not None and c.outputs is not None:
                kept = link_frame(sm, c.outputs[i], params, CLASSES, min_score)
            else:
                kept = sm.step([d for d in dets if d.score >= min_score])
            res = match(kept, c.labels[i] if i < len(c.labels) else [])
            tot = [a + b for a, b in zip(tot, res, strict=True)]
        for key in ("all", desc.get(c.stem, "UNKNOWN"), c.stem.split("_")[1]):
            old = counts.setdefault(key, [0, 0, 0])
            counts[key] = [a + b for a, b in zip(old, tot, strict=True)]
        per_clip[c.stem] = _prf(*tot)
    return {k: _prf(*v) for k, v in counts.items()}, per_clip


def evaluate(
    data_dir: str | Path,
    sensor: str,
    part: str = "test",
    min_score: float | None = None,
    decay: float | None = None,
) -> dict[str, Any]:
    """Scores of one part's clips; ``min_score`` and ``decay`` default to ``PARAMS``."""
    min_score = PARAMS[sensor].min_score if min_score is None else min_score
    decay = PARAMS[sensor].decay if decay is None else decay
    desc = read_description(Path(data_dir) / "Video_dataset_description.xlsx")
    clips, fps = raw_detections(data_dir, sensor, part, floor=min_score)
    p = PARAMS[sensor]
    scores, per_clip = score(clips, desc, min_score, decay, p.size_memory, p.min_hits, p)
    return {
        "sensor": sensor,
        "part": part,
        "min_score": min_score,
        "decay": decay,
        "size_memory": p.size_memory,
        "min_hits": p.min_hits,
        "clips": len(clips),
        "frames": sum(len(c.dets) for c in clips),
        "fps": fps,
        "scores": scores,
        "per_clip": per_clip,
    }


def macro_f1(scores: dict[str, dict[str, float]]) -> float:
    """Mean F1 over the four classes of clip (a class without clips counts 0). Why: pooled
    F1 is mostly drone clips (about half the labels), so it rewarded settings that gave
    up helicopters (session 9: validation pooled F1 level while helicopter F1 fell 0.23 ->
    0.11, then 0.07 on test)."""
    return sum(scores[c]["f1"] if c in scores else 0.0 for c in CLASS_NAMES) / len(CLASS_NAMES)


# Object thresholds of ``choose``'s grid. Above 0.99 since session 11: the visible net's best
# row had been the grid's top (0.99), so the optimum could lie beyond it.
SCORE_GRID = (0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.999)


def choose(
    data_dir: str | Path,
    sensor: str,
    scores: tuple[float, ...] = SCORE_GRID,
    decays: tuple[float, ...] = (0.9, 0.98, 1.0),
    size_memories: tuple[float, ...] = (0.0, 0.8, 0.9, 0.95),
    min_hits: tuple[int, ...] = (1, 2),
) -> list[dict[str, float]]:
    """F1 on the validation clips (held out of fitting, never test clips) for each object
    threshold, class memory, size memory and minimum hits, pooled and macro
    (``macro_f1``); the best macro F1 is what ships in ``PARAMS`` (session 10 on: pooled
    F1 before that). Per-class thresholds were tried and not kept (docs/vision.md)."""
    clips, _ = raw_detections(data_dir, sensor, "val", floor=min(scores))
    out = []
    for ms in scores:
        for decay in decays:
            for sm in size_memories:
                for mh in min_hits:
                    s = score(clips, {}, ms, decay, sm, mh, PARAMS[sensor])[0]
                    out.append(
                        {"min_score": ms, "decay": decay, "size_memory": sm, "min_hits": mh}
                        | s["all"]
                        | {"macro": macro_f1(s)}
                        | {c: s[c]["f1"] for c in CLASS_NAMES if c in s}
                    )
    return out


def iter_clip_frames(path: Path) -> Iterator[tuple[int, NDArray[np.uint8]]]:
    return frames(path)
