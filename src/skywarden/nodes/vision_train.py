"""Training and scoring of the camera detector on the drone-detection dataset's video.

``train(sensor)``: over the training clips of the fixed split (``nodes.split``), every
``stride``-th frame, the candidates of ``vision_detect.candidates`` are labelled: a candidate
whose centre lies inside a labelled box takes that box's class and box (regression target);
one whose centre is outside every box grown by half is background (at most ``neg_per_frame``
of them per frame, drawn with a fixed seed); the rest are left out. Two scikit-learn MLPs are
fitted (class: 32 units; box: 64 units; both L2 alpha 1.0, which held-out training clips
preferred to 64 units at 1e-3: class accuracy of positives 0.52 -> 0.53, background false
positives 0.6 % -> 0.1 % of candidates) and saved as one ``VisionModel`` npz.

``evaluate(sensor)``: every frame of every test clip through ``VideoDetector``; a detection is
right when its class matches a label's and IoU >= 0.5 (each label matched once, greedy by
score). Precision, recall and F1 overall and per distance bin, and frames per second
(detection only, decoding excluded, one thread).
Needs the ``train`` extra (scikit-learn, mcos-decoder).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.dd_labels import Box, read_description, read_labels
from skywarden.nodes.mlp import Mlp
from skywarden.nodes.split import is_test_clip
from skywarden.nodes.video_io import VideoDetector, frames
from skywarden.nodes.vision_detect import (
    CLASSES,
    PARAMS,
    SMALL,
    Candidate,
    Detection,
    VisionModel,
    candidates,
    features,
    iou,
    prepare,
)

SUBDIR = {"ir": "video_ir", "visible": "video_v"}


def clip_paths(data_dir: str | Path, sensor: str, test: bool) -> list[Path]:
    d = Path(data_dir) / SUBDIR[sensor]
    return [p for p in sorted(d.glob("*.mp4")) if is_test_clip(p) == test]


def _label_of(c: Candidate, boxes: list[Box]) -> tuple[str, Box | None]:
    for b in boxes:
        if b.x <= c.cx <= b.x + b.w and b.y <= c.cy <= b.y + b.h:
            return b.label, b
    for b in boxes:
        gx, gy = b.w * 0.5, b.h * 0.5
        if b.x - gx <= c.cx <= b.x + b.w + gx and b.y - gy <= c.cy <= b.y + b.h + gy:
            return "", None
    return "background", None


Samples = tuple[
    NDArray[np.float32], list[str], NDArray[np.float32], NDArray[np.float32], NDArray[np.int32]
]


def samples(
    data_dir: str | Path, sensor: str, stride: int = 3, neg_per_frame: int = 6, seed: int = 0
) -> Samples:
    """Features and class labels of candidates; features and box targets of positives; the
    clip index of each candidate (for cross-validation grouped by clip)."""
    rng = np.random.default_rng(seed)
    xs: list[NDArray[np.float32]] = []
    ys: list[str] = []
    rx: list[NDArray[np.float32]] = []
    rt: list[list[float]] = []
    groups: list[int] = []
    for g, path in enumerate(clip_paths(data_dir, sensor, test=False)):
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        for i, frame in frames(path):
            if i % stride or i >= len(labels):
                continue
            params = PARAMS[sensor]
            gray = prepare(frame, params)
            cands = candidates(gray, params)
            sc = params.scale
            boxes = [Box(b.x * sc, b.y * sc, b.w * sc, b.h * sc, b.label) for b in labels[i]]
            if not cands:
                continue
            x = features(gray, cands)
            neg = []
            for j, c in enumerate(cands):
                label, box = _label_of(c, boxes)
                if label == "background":
                    neg.append(j)
                elif box is not None:
                    xs.append(x[j])
                    ys.append(label)
                    groups.append(g)
                    rx.append(x[j])
                    bcx, bcy = box.x + box.w / 2, box.y + box.h / 2
                    rt.append(
                        [
                            (bcx - c.cx) / SMALL,
                            (bcy - c.cy) / SMALL,
                            float(np.log(max(box.w, 1.0))),
                            float(np.log(max(box.h, 1.0))),
                        ]
                    )
            for j in rng.permutation(neg)[:neg_per_frame]:
                xs.append(x[j])
                ys.append("background")
                groups.append(g)
    return (
        np.stack(xs),
        ys,
        np.stack(rx),
        np.asarray(rt, dtype=np.float32),
        np.asarray(groups, dtype=np.int32),
    )


def _as_mlp(scaler: Any, net: Any, names: tuple[str, ...]) -> Mlp:
    layers = tuple(
        (np.asarray(w, np.float32), np.asarray(b, np.float32))
        for w, b in zip(net.coefs_, net.intercepts_, strict=True)
    )
    return Mlp(
        np.asarray(scaler.mean_, np.float32),
        np.asarray(scaler.scale_, np.float32) + 1e-6,
        layers,
        names,
    )


def train(
    data_dir: str | Path,
    sensor: str,
    out: str | Path,
    seed: int = 0,
    cache: str | Path | None = None,
    stride: int = 4,
) -> dict[str, float]:
    """Fit and save; ``cache`` keeps the extracted samples (an npz) for a later run."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler

    if cache is not None and Path(cache).exists():
        with np.load(str(cache), allow_pickle=False) as z:
            x, y, rx, rt = z["x"], [str(v) for v in z["y"]], z["rx"], z["rt"]
    else:
        x, y, rx, rt, groups = samples(data_dir, sensor, stride=stride, seed=seed)
        if cache is not None:
            np.savez(str(cache), x=x, y=np.array(y), rx=rx, rt=rt, groups=groups)
    scaler = StandardScaler().fit(x)
    clf = MLPClassifier(
        hidden_layer_sizes=(32,),
        alpha=1.0,
        max_iter=200,
        early_stopping=True,
        random_state=seed,
    ).fit(scaler.transform(x), y)
    rscaler = StandardScaler().fit(rx)
    reg = MLPRegressor(
        hidden_layer_sizes=(64,),
        alpha=1.0,
        max_iter=300,
        early_stopping=True,
        random_state=seed,
    ).fit(rscaler.transform(rx), rt)
    classes = tuple(str(c) for c in clf.classes_)
    if set(classes) != set(CLASSES):
        raise ValueError(f"training saw classes {classes}")
    model = VisionModel(
        _as_mlp(scaler, clf, classes),
        _as_mlp(rscaler, reg, ("dx", "dy", "logw", "logh")),
    )
    model.save(out)
    return {
        "samples": float(len(y)),
        "positives": float(len(rt)),
        "val_accuracy": float(clf.best_validation_score_),
    }


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


def evaluate(data_dir: str | Path, sensor: str, model: VisionModel | None = None) -> dict[str, Any]:
    desc = read_description(Path(data_dir) / "Video_dataset_description.xlsx")
    counts: dict[str, list[int]] = {}
    per_clip: dict[str, dict[str, float]] = {}
    busy, n_frames = 0.0, 0
    for path in clip_paths(data_dir, sensor, test=True):
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        det = VideoDetector(sensor, model)
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
        "clips": len(per_clip),
        "frames": n_frames,
        "fps": n_frames / busy if busy else 0.0,
        "scores": {k: _prf(*v) for k, v in counts.items()},
        "per_clip": per_clip,
    }


def iter_clip_frames(path: Path) -> Iterator[tuple[int, NDArray[np.uint8]]]:
    return frames(path)
