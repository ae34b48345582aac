"""Several candidate camera graphs scored as ``vision choose`` would choose them, from ONE
decoding pass per part (session 15, thermal ensemble refinements).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_looks.py cache \\
        --sensor ir --part val --dir /tmp/looks A=a.onnx B=b.onnx
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_looks.py pairs \\
        --sensor ir --dir /tmp/looks A=a.onnx B=b.onnx
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_looks.py grid \\
        --sensor ir --dir /tmp/looks --name A [--refit] [-o grid.json]

Why: a candidate graph (a seed ensemble, the same with test-time flip) costs 7-15 M
multiply-adds a chip, and ``benchmarks/vision_candidate.py`` decodes the fit and validation
clips and runs the proposals again for every candidate. Here the proposals and chips of a
frame are made once and every graph runs on the same chips:

- ``cache``: every frame of the part's clips, each graph's ``FrameOutputs``, saved per clip in
  ``DIR/NAME/SENSOR_PART`` in ``vision_budget.cache_part``'s format (so
  ``benchmarks/vision_budget.py --cache DIR/NAME`` replays the error budget from it);
- ``pairs``: ``vision_box.pairs`` (the fit clips, every 3rd frame, each label with the first
  proposal centred inside it) for each graph, saved as ``DIR/pairs_NAME.npz``;
- ``grid``: ``vision_train.choose``'s grid (every object threshold, class memory, size
  memory and minimum hits; ``vision_train.score``, thresholds applied before NMS as the node
  does) replayed from a graph's cache, with the shipped box lines or, with ``--refit``, the
  common lines refitted on that graph's pairs (``vision_box.lines``, as ``vision fit-box``
  does; per-class lines dropped: thermal has none).
  Prints the best-macro and best-pooled rows; ``-o`` writes every row with per-clip F1.

Test clips are read only with ``--part test``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from skywarden.nodes import vision_detect
from skywarden.nodes.dd_labels import CLASS_NAMES
from skywarden.nodes.video_io import frames
from skywarden.nodes.vision_box import lines, pairs_of
from skywarden.nodes.vision_budget import _pack, cache_part
from skywarden.nodes.vision_cnn import CnnModel, chips
from skywarden.nodes.vision_detect import (
    PARAMS,
    Detection,
    FrameOutputs,
    SensorParams,
    levels,
    prepare,
)
from skywarden.nodes.vision_train import (
    SCORE_GRID,
    RawClip,
    macro_f1,
    part_paths,
    score,
)


def _models(specs: list[str]) -> dict[str, CnnModel]:
    out = {}
    for spec in specs:
        name, path = spec.split("=", 1)
        out[name] = CnnModel(path)
    return out


def cache(a: argparse.Namespace) -> None:
    models = _models(a.graphs)
    p = PARAMS[a.sensor]
    busy = dict.fromkeys(models, 0.0)
    n = 0
    for path in part_paths(a.data, a.sensor, a.part):
        outs: dict[str, list[FrameOutputs]] = {k: [] for k in models}
        for _, frame in frames(path):
            n += 1
            lv = [v for v in levels(prepare(frame, p), p) if v.cands]
            if not lv:
                z = np.zeros
                empty = FrameOutputs(
                    [], z(0, np.float32), z((0, 5), np.float32), z((0, 4), np.float32)
                )
                for k in models:
                    outs[k].append(empty)
                continue
            cs = [chips(v.gray, v.cands) for v in lv]
            cands = [c for v in lv for c in v.cands]
            factor = np.asarray([v.factor for v in lv for _ in v.cands], dtype=np.float32)
            x = np.concatenate([c[0] for c in cs])
            e = np.concatenate([c[1] for c in cs])
            for k, m in models.items():
                t0 = time.process_time()
                probs, reg = m.run(x, e)
                busy[k] += time.process_time() - t0
                outs[k].append(FrameOutputs(cands, factor, probs, reg))
        for k in models:
            d = Path(a.dir) / k / f"{a.sensor}_{a.part}"
            d.mkdir(parents=True, exist_ok=True)
            np.savez(d / f"{path.stem}.npz", **_pack(outs[k]))  # type: ignore[arg-type]
        fps = {k: round(n / b, 1) for k, b in busy.items() if b}
        print(json.dumps({"clip": path.stem, "frames": n, "cnn_fps": fps}), flush=True)


def pairs(a: argparse.Namespace) -> None:
    models = _models(a.graphs)
    found = pairs_of(list(models.values()), a.data, a.sensor, a.step)
    Path(a.dir).mkdir(parents=True, exist_ok=True)
    for k, (xr, yr, pr) in zip(models, found, strict=True):
        np.savez(Path(a.dir) / f"pairs_{k}.npz", x=xr, y=yr, p=pr)
    print(json.dumps({"pairs": len(found[0][0])}))


def grid(a: argparse.Namespace) -> None:
    params = PARAMS[a.sensor]
    if a.refit:
        with np.load(Path(a.dir) / f"pairs_{a.name}.npz") as d:
            params = replace(params, box=lines(d["x"], d["y"]), class_box=())
            print(json.dumps({"pairs": len(d["x"]), "box": params.box}), flush=True)
    cached, _ = cache_part(a.data, a.sensor, "val", Path(a.dir) / a.name / f"{a.sensor}_val")
    clips = [RawClip(c.stem, [[] for _ in c.outputs], c.labels, c.outputs) for c in cached]
    # one threshold's detections serve its 24 smoother settings: ``detections`` is pure
    plain = vision_detect.detections
    memo: dict[int, list[Detection]] = {}

    def memo_detections(
        out: FrameOutputs, p: SensorParams, classes: tuple[str, ...], min_score: float
    ) -> list[Detection]:
        if id(out) not in memo:
            memo[id(out)] = plain(out, p, classes, min_score)
        return memo[id(out)]

    vision_detect.detections = memo_detections  # type: ignore[assignment]
    rows = []
    for ms in SCORE_GRID:
        memo.clear()
        for decay in (0.9, 0.98, 1.0):
            for sm in (0.0, 0.8, 0.9, 0.95):
                for mh in (1, 2):
                    s, per = score(clips, {}, ms, decay, sm, mh, params)
                    rows.append(
                        {"min_score": ms, "decay": decay, "size_memory": sm, "min_hits": mh}
                        | s["all"]
                        | {"macro": macro_f1(s)}
                        | {c: s[c]["f1"] for c in CLASS_NAMES if c in s}
                        | {"per_clip": {k: v["f1"] for k, v in per.items()}}
                    )
    for key in ("macro", "f1"):
        best = max(rows, key=lambda r: float(r[key]))
        shown = {k: round(v, 4) for k, v in best.items() if isinstance(v, float | int)}
        print(json.dumps({"best": key} | shown))
    if a.output:
        Path(a.output).write_text(json.dumps({"box": params.box, "rows": rows}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["cache", "pairs", "grid"])
    ap.add_argument("graphs", nargs="*", help="NAME=graph.onnx (cache, pairs)")
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--sensor", choices=["ir", "visible"], default="ir")
    ap.add_argument("--part", default="val", choices=["val", "fit", "test"])
    ap.add_argument("--dir", default="/tmp/looks")
    ap.add_argument("--step", type=int, default=3)
    ap.add_argument("--name", help="grid: the graph's NAME")
    ap.add_argument("--refit", action="store_true", help="grid: lines refitted on its pairs")
    ap.add_argument("-o", "--output")
    a = ap.parse_intermixed_args()  # NAME=graph pairs may follow the options
    import cv2

    cv2.setNumThreads(1)
    {"cache": cache, "pairs": pairs, "grid": grid}[a.what](a)


if __name__ == "__main__":
    main()
