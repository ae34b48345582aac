"""Where the camera detector's F1 is lost: an error budget on the validation fifth.

Why: sessions 9-11 tried changes (proposal scales, pyramids, epochs, class weights, mining,
thresholds) one after another and most of them moved the validation F1 by less than its
noise. Before the next change, this splits the lost F1 into its causes, so the change goes
where the loss is:

- a missed label (false negative) is **no proposal** when no contrast blob of any level is
  centred inside it (the recall ceiling of the proposal stage); **objectness** when one is
  but every such proposal's object score is under the threshold; **suppressed** when one
  scored over the threshold yet nothing was reported on it (NMS or the smoother's minimum
  hits); **class** when a reported box overlaps it with IoU >= 0.5 under another class;
  **box** when a reported box is centred on it (inside the label grown by half) with IoU
  under 0.5;
- a reported box that matched nothing (false positive) is **class** or **box** in the same
  sense, **duplicate** when it overlaps an already matched label of its class with IoU >= 0.5,
  and **background** otherwise.

For each cause, ``counterfactual`` gives the F1 had that cause alone been fixed (a box or
class error mended turns one false positive and one false negative into one true positive; a
missed label found adds a true positive; a background box removed drops a false positive).

The CNN's outputs per frame (``vision_detect.FrameOutputs``) are cached once per net and part
(``cache_part``), so thresholds, NMS and the smoother can be replayed in seconds
(``replay``), exactly as ``VideoDetector`` would run them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.dd_labels import Box
from skywarden.nodes.vision_detect import (
    Candidate,
    Detection,
    FrameOutputs,
    SensorParams,
    iou,
    link_frame,
    smoother,
)

FN_CAUSES = ("no_proposal", "objectness", "suppressed", "class", "box")
FP_CAUSES = ("class", "box", "duplicate", "background")
SIZE_BINS = ((0.0, 8.0), (8.0, 16.0), (16.0, 32.0), (32.0, 64.0), (64.0, 1e9))


@dataclass(frozen=True)
class CachedClip:
    """One clip's CNN outputs per frame and its labels."""

    stem: str
    outputs: list[FrameOutputs]
    labels: list[list[Box]]


def _pack(outs: list[FrameOutputs]) -> dict[str, NDArray[Any]]:
    n = np.array([len(o.cands) for o in outs], dtype=np.int64)
    cand = [[c.cx, c.cy, c.w, c.h, c.contrast] for o in outs for c in o.cands]
    return {
        "n": n,
        "cand": np.asarray(cand, dtype=np.float64).reshape(-1, 5),
        "factor": np.concatenate([o.factor for o in outs]) if outs else np.zeros(0),
        "probs": np.concatenate([o.probs for o in outs]) if outs else np.zeros((0, 5)),
        "reg": np.concatenate([o.reg for o in outs]) if outs else np.zeros((0, 4)),
    }


def _unpack(npz: Any) -> list[FrameOutputs]:
    """The frames of a cached clip. Each array is read from the file ONCE: ``NpzFile[key]``
    reads the whole array again on every access, and the per-frame views kept each read's
    copy alive (memory and time grew with the square of the clip's frames: 22 GB for the 120
    thermal training clips, session 16)."""
    d = {k: npz[k] for k in ("n", "cand", "factor", "probs", "reg")}
    out, i = [], 0
    for k in d["n"]:
        j = i + int(k)
        cands = [Candidate(*map(float, row)) for row in d["cand"][i:j]]
        out.append(
            FrameOutputs(
                cands,
                np.asarray(d["factor"][i:j], dtype=np.float32),
                np.asarray(d["probs"][i:j], dtype=np.float32),
                np.asarray(d["reg"][i:j], dtype=np.float32),
            )
        )
        i = j
    return out


def cache_part(
    data_dir: str | Path, sensor: str, part: str, cache_dir: str | Path
) -> tuple[list[CachedClip], float]:
    """Every frame of a part's clips through the proposals and the shipped (or patched,
    ``vision_detect.load_model``) CNN, cached per clip in ``cache_dir`` (re-used when
    present); and the frames per second of the CNN pass (CPU time, decoding excluded; 0 when
    everything came from the cache)."""
    from skywarden.nodes.dd_labels import read_labels
    from skywarden.nodes.video_io import frames
    from skywarden.nodes.vision_detect import frame_outputs, load_model
    from skywarden.nodes.vision_train import part_paths

    cdir = Path(cache_dir)
    cdir.mkdir(parents=True, exist_ok=True)
    model = load_model(sensor)
    out, busy, n = [], 0.0, 0
    for path in part_paths(data_dir, sensor, part):
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        f = cdir / f"{path.stem}.npz"
        if f.exists():
            with np.load(f) as d:
                outs = _unpack(d)
        else:
            outs = []
            for _, frame in frames(path):
                t0 = time.process_time()
                outs.append(frame_outputs(frame, sensor, model))
                busy += time.process_time() - t0
                n += 1
            np.savez(f, **_pack(outs))  # type: ignore[arg-type]
        out.append(CachedClip(path.stem, outs, labels))
    return out, (n / busy if busy else 0.0)


def replay(
    clip: CachedClip, params: SensorParams, classes: tuple[str, ...]
) -> Iterable[tuple[int, list[Detection]]]:
    """(frame, reported detections) of a cached clip under ``params`` (threshold, box lines,
    smoother), as ``VideoDetector`` reports them."""
    sm = smoother(params, classes)
    for i, o in enumerate(clip.outputs):
        yield i, link_frame(sm, o, params, classes, params.min_score)


def _inside(cx: float, cy: float, b: Box, grow: float = 0.0) -> bool:
    gx, gy = b.w * grow, b.h * grow
    return b.x - gx <= cx <= b.x + b.w + gx and b.y - gy <= cy <= b.y + b.h + gy


def frame_budget(
    dets: list[Detection],
    boxes: list[Box],
    out: FrameOutputs,
    params: SensorParams,
    classes: tuple[str, ...],
) -> tuple[list[tuple[str, Box | None]], list[str]]:
    """(per label: its outcome -- "tp" or one of ``FN_CAUSES`` -- and the label; per
    unmatched detection: one of ``FP_CAUSES``) of one frame. The matching is
    ``vision_train.pairs`` (greedy by score, class and IoU >= 0.5)."""
    from skywarden.nodes.vision_train import pairs

    used = pairs(dets, boxes)
    matched_det = set(used.values())
    free = [i for i in range(len(dets)) if i not in matched_det]
    bg = classes.index("background")
    obj = 1.0 - out.probs[:, bg] if len(out.cands) else np.zeros(0)
    scale = [params.scale / float(f) for f in out.factor]
    labels: list[tuple[str, Box | None]] = []
    for j, b in enumerate(boxes):
        bb = (b.x, b.y, b.w, b.h)
        if j in used:
            labels.append(("tp", b))
        elif any(iou(dets[i].box, bb) >= 0.5 for i in free):
            labels.append(("class", b))
        elif any(_inside(*_centre(dets[i].box), b, 0.5) for i in free):
            labels.append(("box", b))
        else:
            on = [
                k for k, c in enumerate(out.cands) if _inside(c.cx / scale[k], c.cy / scale[k], b)
            ]
            if not on:
                labels.append(("no_proposal", b))
            elif max(float(obj[k]) for k in on) < params.min_score:
                labels.append(("objectness", b))
            else:
                labels.append(("suppressed", b))
    fps: list[str] = []
    for i in free:
        d = dets[i]
        others = [(j, b) for j, b in enumerate(boxes)]
        if any(j in used and b.label == d.label and iou(d.box, _t(b)) >= 0.5 for j, b in others):
            fps.append("duplicate")
        elif any(iou(d.box, _t(b)) >= 0.5 for _, b in others):
            fps.append("class")
        elif any(_inside(*_centre(d.box), b, 0.5) for _, b in others):
            fps.append("box")
        else:
            fps.append("background")
    return labels, fps


def _t(b: Box) -> tuple[float, float, float, float]:
    return (b.x, b.y, b.w, b.h)


def _centre(box: tuple[float, ...]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def size_bin(b: Box) -> str:
    s = max(b.w, b.h)
    for lo, hi in SIZE_BINS:
        if lo <= s < hi:
            return f"{lo:g}-{hi:g}px" if hi < 1e9 else f">={lo:g}px"
    return "?"


def budget(
    clips: list[CachedClip],
    params: SensorParams,
    classes: tuple[str, ...],
    desc: dict[str, str],
) -> dict[str, dict[str, int]]:
    """Counts per group ("all", distance bin, class of clip, label size bin for labels):
    "tp", each of ``FN_CAUSES`` as "fn_<cause>", each of ``FP_CAUSES`` as "fp_<cause>"."""
    counts: dict[str, dict[str, int]] = {}

    def add(group: str, key: str) -> None:
        g = counts.setdefault(group, {})
        g[key] = g.get(key, 0) + 1

    for c in clips:
        groups = ("all", desc.get(c.stem, "UNKNOWN"), c.stem.split("_")[1])
        for i, dets in replay(c, params, classes):
            boxes = c.labels[i] if i < len(c.labels) else []
            labs, fps = frame_budget(dets, boxes, c.outputs[i], params, classes)
            for outcome, b in labs:
                key = "tp" if outcome == "tp" else f"fn_{outcome}"
                for g in groups:
                    add(g, key)
                if b is not None:
                    add("size " + size_bin(b), key)
            for cause in fps:
                for g in groups:
                    add(g, f"fp_{cause}")
    return counts


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def counterfactual(c: dict[str, int]) -> dict[str, float]:
    """F1 as measured, and had each cause alone been fixed (module docstring)."""
    tp = c.get("tp", 0)
    fp = sum(c.get(f"fp_{k}", 0) for k in FP_CAUSES)
    fn = sum(c.get(f"fn_{k}", 0) for k in FN_CAUSES)
    out = {"f1": f1(tp, fp, fn)}
    for k in ("class", "box"):
        m = c.get(f"fn_{k}", 0)
        out[f"fix_{k}"] = f1(tp + m, max(fp - m, 0), fn - m)
    for k in ("no_proposal", "objectness", "suppressed"):
        m = c.get(f"fn_{k}", 0)
        out[f"fix_{k}"] = f1(tp + m, fp, fn - m)
    for k in ("background", "duplicate"):
        out[f"fix_fp_{k}"] = f1(tp, fp - c.get(f"fp_{k}", 0), fn)
    return out


def report(counts: dict[str, dict[str, int]]) -> str:
    """One JSON line per group: its counts and ``counterfactual`` F1s."""
    lines = []
    for g in sorted(counts):
        row = (
            {"group": g}
            | counts[g]
            | {k: round(v, 3) for k, v in counterfactual(counts[g]).items()}
        )
        lines.append(json.dumps(row))
    return "\n".join(lines)
