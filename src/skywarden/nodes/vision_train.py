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
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.dd_labels import Box, read_description, read_labels
from skywarden.nodes.split import is_test_clip
from skywarden.nodes.video_io import VideoDetector, frames
from skywarden.nodes.vision_detect import PARAMS, Candidate, Detection, iou

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


def match(dets: list[Detection], boxes: list[Box]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of one frame."""
    used: set[int] = set()
    tp = 0
    for d in sorted(dets, key=lambda d: -d.score):
        best, best_iou = -1, 0.5
        for j, b in enumerate(boxes):
            if j in used or b.label != d.label:
                continue
            v = iou(d.box, (b.x, b.y, b.w, b.h))
            if v >= best_iou:
                best, best_iou = j, v
        if best >= 0:
            used.add(best)
            tp += 1
    return tp, len(dets) - tp, len(boxes) - tp


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


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
    counts: dict[str, list[int]] = {}
    per_clip: dict[str, dict[str, float]] = {}
    busy, n_frames = 0.0, 0
    for path in part_paths(data_dir, sensor, part):
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        det = VideoDetector(sensor, min_score=min_score, decay=decay)
        tot = [0, 0, 0]
        for i, frame in frames(path):
            t0 = time.process_time()
            dets = det.step(frame)
            busy += time.process_time() - t0
            n_frames += 1
            res = match(dets, labels[i] if i < len(labels) else [])
            tot = [a + b for a, b in zip(tot, res, strict=True)]
        for key in ("all", desc.get(path.stem, "UNKNOWN"), path.stem.split("_")[1]):
            c = counts.setdefault(key, [0, 0, 0])
            counts[key] = [a + b for a, b in zip(c, tot, strict=True)]
        per_clip[path.stem] = _prf(*tot)
    return {
        "sensor": sensor,
        "part": part,
        "min_score": min_score,
        "decay": decay,
        "clips": len(per_clip),
        "frames": n_frames,
        "fps": n_frames / busy if busy else 0.0,
        "scores": {k: _prf(*v) for k, v in counts.items()},
        "per_clip": per_clip,
    }


def iter_clip_frames(path: Path) -> Iterator[tuple[int, NDArray[np.uint8]]]:
    return frames(path)


def choose(
    data_dir: str | Path,
    sensor: str,
    scores: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9),
    decays: tuple[float, ...] = (0.9, 0.97, 0.99, 1.0),
) -> list[dict[str, float]]:
    """F1 on the validation clips (held out of fitting, never test clips) for each object
    threshold and smoothing memory: the per-frame detections are computed once at the lowest
    threshold, then thresholded and smoothed per setting (``VideoDetector`` does the same in
    one pass, so the chosen pair is what the detector ships with)."""
    from skywarden.nodes.vision_detect import TrackSmoother, detect_frame, load_model

    model = load_model(sensor)
    clips = []
    for path in part_paths(data_dir, sensor, "val"):
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        raw = [detect_frame(f, sensor, model, min(scores)) for _, f in frames(path)]
        clips.append((raw, labels))
    out = []
    for ms in scores:
        for decay in decays:
            tot = [0, 0, 0]
            for raw, labels in clips:
                sm = TrackSmoother(model.classes, decay=decay)
                for i, dets in enumerate(raw):
                    kept = sm.step([d for d in dets if d.score >= ms])
                    res = match(kept, labels[i] if i < len(labels) else [])
                    tot = [a + b for a, b in zip(tot, res, strict=True)]
            out.append({"min_score": ms, "decay": decay, **_prf(*tot)})
    return out
