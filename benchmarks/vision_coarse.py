"""The second look at large thermal objects (``nodes/vision_coarse.py``), session 19: its
training chips, its net, and the validation caches of each way to combine it.

    PYTHONPATH=src:TORCH OMP_NUM_THREADS=1 python benchmarks/vision_coarse.py chips \\
        --data /work/shared/data/dd --out DIR/coarse_chips.npz
    PYTHONPATH=src:TORCH OMP_NUM_THREADS=1 python benchmarks/vision_coarse.py train \\
        --chips DIR/coarse_chips.npz --seed 0 --epochs 3 -o DIR/coarse0.onnx
    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/vision_coarse.py cache \\
        --data /work/shared/data/dd --dir DIR --net DIR/coarse0.onnx
    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/vision_looks.py grid \\
        --data /work/shared/data/dd --dir DIR --name base|replace|mean|class

``cache`` runs every frame of the validation fifth once: the shipped net on every proposal
(``vision_detect.frame_outputs``' chips), the second net on the large ones, and writes one
``vision_budget``-format cache per variant in ``DIR/NAME/ir_val``: ``base`` (the shipped
outputs unchanged: ``vision choose``'s rows) and one per ``vision_coarse.MODES``. The test
clips are never read here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from skywarden.nodes import vision_coarse
from skywarden.nodes.video_io import frames
from skywarden.nodes.vision_budget import _pack
from skywarden.nodes.vision_cnn import CnnModel, chips
from skywarden.nodes.vision_detect import PARAMS, FrameOutputs, levels, load_model, prepare
from skywarden.nodes.vision_train import part_paths


def make_chips(a: argparse.Namespace) -> None:
    t0 = time.time()
    d = vision_coarse.extract(a.data, "ir", min_px=a.min_px, factor=a.factor)
    np.savez(a.out, **d)  # type: ignore[arg-type]
    y, g = d["y"], d["groups"]
    print(
        json.dumps(
            {
                "chips": len(y),
                "per_class": np.bincount(y, minlength=5).tolist(),
                "val_per_class": np.bincount(y[g % 5 == 0], minlength=5).tolist(),
                "coverage": d["coverage"].tolist(),
                "seconds": round(time.time() - t0),
            }
        )
    )


def train(a: argparse.Namespace) -> None:
    from skywarden.nodes.vision_cnn_train import export_onnx, fit

    with np.load(a.chips) as z:
        d = {k: z[k] for k in z.files}

    def log(row: dict[str, float]) -> None:
        print(json.dumps(row), file=sys.stderr, flush=True)

    net, _ = fit(d, epochs=a.epochs, seed=a.seed, threads=1, log=log, neg_keep=a.neg_keep)
    export_onnx(net, a.output)


def cache(a: argparse.Namespace) -> None:
    p = PARAMS["ir"]
    first = load_model("ir")
    second = CnnModel(a.net)
    names = ("base", *vision_coarse.MODES)
    busy = [0.0, 0.0]
    n = n_large = 0
    for path in part_paths(a.data, "ir", "val"):
        outs: dict[str, list[FrameOutputs]] = {k: [] for k in names}
        for _, frame in frames(path):
            n += 1
            lv = [v for v in levels(prepare(frame, p), p) if v.cands]
            if not lv:
                z = np.zeros
                empty = FrameOutputs(
                    [], z(0, np.float32), z((0, 5), np.float32), z((0, 4), np.float32)
                )
                for k in names:
                    outs[k].append(empty)
                continue
            t0 = time.process_time()
            cs = [chips(v.gray, v.cands) for v in lv]
            cands = [c for v in lv for c in v.cands]
            factor = np.asarray([v.factor for v in lv for _ in v.cands], dtype=np.float32)
            probs, reg = first.run(
                np.concatenate([c[0] for c in cs]), np.concatenate([c[1] for c in cs])
            )
            t1 = time.process_time()
            p2s, idx_all, off = [], [], 0
            for v in lv:
                idx = vision_coarse.large(v.cands, a.min_px)
                if len(idx):
                    x2, e2 = vision_coarse.coarse_chips(v.gray, [v.cands[j] for j in idx])
                    p2s.append(second.run(x2, e2)[0])
                    idx_all.append(idx + off)
                off += len(v.cands)
            t2 = time.process_time()
            busy[0] += t1 - t0
            busy[1] += t2 - t1
            outs["base"].append(FrameOutputs(cands, factor, probs, reg))
            for mode in vision_coarse.MODES:
                q = probs.copy()
                if idx_all:
                    i = np.concatenate(idx_all)
                    q[i] = vision_coarse.combine(probs[i], np.concatenate(p2s), mode)
                outs[mode].append(FrameOutputs(cands, factor, q, reg))
            n_large += sum(len(i) for i in idx_all)
        for k in names:
            d = Path(a.dir) / k / "ir_val"
            d.mkdir(parents=True, exist_ok=True)
            np.savez(d / f"{path.stem}.npz", **_pack(outs[k]))  # type: ignore[arg-type]
        print(
            json.dumps(
                {
                    "clip": path.stem,
                    "frames": n,
                    "large": n_large,
                    "ms_first": round(1000 * busy[0] / n, 2),
                    "ms_second": round(1000 * busy[1] / n, 2),
                }
            ),
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["chips", "train", "cache"])
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--out", help="chips: the npz to write")
    ap.add_argument("--chips", help="train: the npz of ``chips``")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--neg-keep", type=float, default=0.5)
    ap.add_argument("-o", "--output", help="train: the ONNX file to write")
    ap.add_argument("--net", help="cache: the second look's ONNX file")
    ap.add_argument("--dir", default="/tmp/coarse")
    ap.add_argument("--min-px", type=float, default=vision_coarse.MIN_PX)
    ap.add_argument("--factor", type=float, default=vision_coarse.FACTOR)
    a = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    {"chips": make_chips, "train": train, "cache": cache}[a.what](a)


if __name__ == "__main__":
    main()
