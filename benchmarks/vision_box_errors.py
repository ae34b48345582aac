"""What the camera detector's box errors are (session 13, docs/vision.md): validation fifth.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_box_errors.py --sensor ir|visible \\
        [--cache /tmp/vbudget] [--data ../shared/data/dd] [--part val] [--tight-every 10]

For every label with a reported box centred on it (inside the label grown by half, the
error budget's "box" test; ``nodes/vision_budget.py``), the best such box is compared with
the label, per class of label and per label size: the share with IoU >= 0.5 of the
reported box (the smoother's), of the frame's box (size lines, before the smoother), of
the CNN's own regression (no lines) and of the proposal blob's extent; the share had only
the centre been right (the label's size at the reported centre: "size ok") or only the
size ("centre ok"); median log(box / label) of width and height of each; and the median
centre offset in label widths / heights. Then, every ``--tight-every``-th frame, how tight
the labels are: the object segmented inside the label (pixels differing from the median
of the grown label's border by over 4 robust sigma and a quarter of the peak, components
centred in the label) against the label, as median log ratios and area share, per clip,
class, distance and size. Uses the error budget's cache of CNN outputs (``--cache``).
"""

from __future__ import annotations

import argparse
import collections
import math
from pathlib import Path
from typing import Any

import numpy as np

from skywarden.nodes.dd_labels import Box, read_description, read_labels
from skywarden.nodes.video_io import frames
from skywarden.nodes.vision_budget import _centre, _inside, cache_part, size_bin
from skywarden.nodes.vision_cnn import CLASSES, decode_box
from skywarden.nodes.vision_detect import PARAMS, TrackSmoother, box_reg, detections, iou, to_gray
from skywarden.nodes.vision_train import part_paths

BG = CLASSES.index("background")


def box_rows(clips: list[Any], sensor: str) -> list[dict[str, Any]]:
    p = PARAMS[sensor]
    rows = []
    for c in clips:
        sm = TrackSmoother(CLASSES, p.decay, min_hits=p.min_hits, size_memory=p.size_memory)
        for fi, o in enumerate(c.outputs):
            kept = detections(o, p, CLASSES, p.min_score)
            # each kept box's raw regression and blob boxes, by the kept box's centre
            alt = {}
            for i, cd in enumerate(o.cands):
                sc = p.scale / float(o.factor[i])
                probs = o.probs[i].copy()
                probs[BG] = -1.0
                r = box_reg(cd, o.reg[i], CLASSES[int(np.argmax(probs))], p)
                key = tuple(round(v / sc, 3) for v in decode_box(cd, r))
                raw = tuple(v / sc for v in decode_box(cd, o.reg[i]))
                blob = ((cd.cx - cd.w / 2) / sc, (cd.cy - cd.h / 2) / sc, cd.w / sc, cd.h / sc)
                alt[key] = (raw, blob)
            rep = sm.step(kept)
            for b in c.labels[fi] if fi < len(c.labels) else []:
                lb = (b.x, b.y, b.w, b.h)
                on = [d for d in rep if _inside(*_centre(d.box), b, 0.5)]
                if not on:
                    continue
                d = max(on, key=lambda d: iou(d.box, lb))
                cx, cy = _centre(d.box)
                fd = min(
                    kept, key=lambda k: abs(_centre(k.box)[0] - cx) + abs(_centre(k.box)[1] - cy)
                )
                raw, blob = alt.get(tuple(round(v, 3) for v in fd.box), (fd.box, fd.box))
                lcx, lcy = b.x + b.w / 2, b.y + b.h / 2
                row = {"cls": b.label, "size": size_bin(b), "clip": c.stem}
                for name, bx in (("rep", d.box), ("frame", fd.box), ("raw", raw), ("blob", blob)):
                    row[f"iou_{name}"] = iou(bx, lb)
                    row[f"lw_{name}"] = math.log(max(bx[2], 1e-3) / b.w)
                    row[f"lh_{name}"] = math.log(max(bx[3], 1e-3) / b.h)
                row["size_ok"] = iou((cx - b.w / 2, cy - b.h / 2, b.w, b.h), lb)
                w, h = d.box[2], d.box[3]
                row["centre_ok"] = iou((lcx - w / 2, lcy - h / 2, w, h), lb)
                row["dx"], row["dy"] = abs(cx - lcx) / b.w, abs(cy - lcy) / b.h
                rows.append(row)
    return rows


def print_box_table(rows: list[dict[str, Any]]) -> None:
    names = ("rep", "frame", "raw", "blob")
    print(
        "| group | labels | "
        + " | ".join(f"{n} IoU>=.5" for n in names)
        + " | size ok | centre ok | "
        + " | ".join(f"{n} log w/h" for n in names)
        + " | centre off x/y |"
    )
    for key in (lambda r: "all", lambda r: r["size"], lambda r: r["cls"], lambda r: r["clip"]):
        groups = collections.defaultdict(list)
        for r in rows:
            groups[key(r)].append(r)
        for g in sorted(groups):
            rs = groups[g]

            def share(k: str, rs: list[dict[str, Any]] = rs) -> str:
                return f"{np.mean([r[k] >= 0.5 for r in rs]):.2f}"

            def med(k: str, rs: list[dict[str, Any]] = rs) -> float:
                return float(np.median([r[k] for r in rs]))

            print(
                f"| {g} | {len(rs)} | "
                + " | ".join(share(f"iou_{n}") for n in names)
                + f" | {share('size_ok')} | {share('centre_ok')} | "
                + " | ".join(f"{med(f'lw_{n}'):+.2f}/{med(f'lh_{n}'):+.2f}" for n in names)
                + f" | {med('dx'):.2f}/{med('dy'):.2f} |"
            )


def tight(box: Box, g: np.ndarray) -> tuple[float, float] | None:
    """log(object / label) of width and height, the object segmented inside the label."""
    import cv2

    hh, ww = g.shape
    x0, y0 = int(max(0, box.x - box.w / 2)), int(max(0, box.y - box.h / 2))
    x1, y1 = int(min(ww, box.x + 1.5 * box.w)), int(min(hh, box.y + 1.5 * box.h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    win = g[y0:y1, x0:x1]
    ring = np.concatenate([win[0], win[-1], win[:, 0], win[:, -1]])
    med = float(np.median(ring))
    mad = float(np.median(np.abs(ring - med))) * 1.4826 + 1.0
    d = np.abs(win - med)
    mask = (d > max(4 * mad, 0.25 * float(d.max()))).astype(np.uint8)
    n, _, st, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    parts = [
        (x0 + s[0], y0 + s[1], x0 + s[0] + s[2], y0 + s[1] + s[3])
        for s in st[1:n]
        if _inside(x0 + s[0] + s[2] / 2, y0 + s[1] + s[3] / 2, box)
    ]
    if not parts:
        return None
    tw = max(q[2] for q in parts) - min(q[0] for q in parts)
    th = max(q[3] for q in parts) - min(q[1] for q in parts)
    return math.log(tw / box.w), math.log(th / box.h)


def print_tightness(data: str, sensor: str, part: str, every: int) -> None:
    desc = read_description(Path(data) / "Video_dataset_description.xlsx")
    res = collections.defaultdict(list)
    for path in part_paths(data, sensor, part):
        labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
        for i, frame in frames(path):
            if i % every or i >= len(labels):
                continue
            g = to_gray(frame)
            for b in labels[i]:
                r = tight(b, g)
                if r is None:
                    continue
                for k in ("all", b.label, desc.get(path.stem, "?"), size_bin(b), path.stem):
                    res[k].append(r)
    print("| group | labels | object/label log width | log height | area share |")
    for k in res:
        a = np.asarray(res[k])
        share = float(np.median(np.exp(a[:, 0] + a[:, 1])))
        print(
            f"| {k} | {len(a)} | {np.median(a[:, 0]):+.2f} | {np.median(a[:, 1]):+.2f} "
            f"| {share:.2f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--sensor", choices=["ir", "visible"], required=True)
    ap.add_argument("--part", default="val", choices=["val", "fit", "test"])
    ap.add_argument("--cache", default="/tmp/vbudget")
    ap.add_argument("--tight-every", type=int, default=10)
    a = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    clips, _ = cache_part(a.data, a.sensor, a.part, Path(a.cache) / f"{a.sensor}_{a.part}")
    print_box_table(box_rows(clips, a.sensor))
    if a.tight_every > 0:
        print_tightness(a.data, a.sensor, a.part, a.tight_every)


if __name__ == "__main__":
    main()
