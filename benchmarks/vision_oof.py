"""Out-of-fold CNN outputs for ``benchmarks/vision_motion_cv.py --oof`` (session 18, issue 23).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_oof.py --sensor ir --fold K \\
        --chips CHIPS.npz --work DIR [--data ../shared/data/dd] [--epochs 3] [--seed 0]

Why: the motion CV's appearance scores came from the shipped CNN, fitted on folds 1-4 of the
training clips, so on those folds its class memory is in-sample and the motion term's worth on
top of it is not honestly measured. For fold K (training clips ``index % 5 == K``, the CV's
folds) this trains ONE net with the shipped recipe (``vision_cnn_train.fit``: seed 0, half the
background chips, cosine rate, the epoch with the best mean recall on the held-out fold, box
calibration on the other folds' positives) holding fold K out instead of fold 0, exports it to
``DIR/SENSOR_foldK.onnx``, and caches every frame's outputs (proposals, class probabilities,
box regressions: ``vision_budget``'s cache format) of fold K's clips through that net in
``DIR/SENSOR_oof/STEM.npz``. Fold 0 with the default arguments is the shipped seed-0 net
(``vision train --sensor SENSOR --cache CHIPS``), the first of the thermal ensemble's three.

Held out by shifting the chips' clip index (``groups - K``): ``fit`` and ``calibrate_box``
hold out ``groups % 5 == 0``, which is then exactly fold K. The chip cache is
``vision_cnn_train.load_or_extract``'s (made here when absent). Test clips are never read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.vision_train import VAL_EVERY, clip_paths


def shift_fold(d: dict[str, NDArray[Any]], fold: int) -> dict[str, NDArray[Any]]:
    """The chips with their clip index shifted so that ``groups % 5 == 0`` is fold ``fold``."""
    return d | {"groups": (d["groups"].astype(np.int64) - fold) % VAL_EVERY}


def fold_paths(data_dir: str | Path, sensor: str, fold: int) -> list[Path]:
    """The training clips of fold ``fold`` (index in the sorted training list % 5)."""
    train = clip_paths(data_dir, sensor, test=False)
    return [p for g, p in enumerate(train) if g % VAL_EVERY == fold]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--sensor", choices=["ir", "visible"], required=True)
    ap.add_argument("--fold", type=int, required=True, choices=range(VAL_EVERY))
    ap.add_argument("--chips", required=True, help="the chip cache (made when absent)")
    ap.add_argument("--work", required=True, help="nets and output caches (outside the repo)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-train", action="store_true", help="reuse DIR/SENSOR_foldK.onnx")
    a = ap.parse_args()
    import cv2

    from skywarden.nodes.video_io import frames
    from skywarden.nodes.vision_budget import _pack
    from skywarden.nodes.vision_cnn import CnnModel
    from skywarden.nodes.vision_cnn_train import (
        calibrate_box,
        export_onnx,
        fit,
        load_or_extract,
    )
    from skywarden.nodes.vision_detect import frame_outputs

    cv2.setNumThreads(1)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    net_path = work / f"{a.sensor}_fold{a.fold}.onnx"
    if not a.skip_train:
        t0 = time.time()
        d = shift_fold(load_or_extract(a.data, a.sensor, a.chips, a.seed), a.fold)
        print(json.dumps({"chips": len(d["y"]), "load_s": round(time.time() - t0)}), flush=True)

        def log(row: dict[str, float]) -> None:
            print(json.dumps({"fold": a.fold} | row), file=sys.stderr, flush=True)

        net, history = fit(
            d,
            epochs=a.epochs,
            seed=a.seed,
            threads=1,
            log=log,
            neg_keep=0.5,
            on_best=lambda n: export_onnx(n, net_path),
        )
        export_onnx(net, net_path)
        cal = calibrate_box(net_path, d, a.seed)
        del d
        print(json.dumps({"fold": a.fold, "box_calibration": cal, "history": history}))
    model = CnnModel(net_path)
    out_dir = work / f"{a.sensor}_oof"
    out_dir.mkdir(exist_ok=True)
    for path in fold_paths(a.data, a.sensor, a.fold):
        f = out_dir / f"{path.stem}.npz"
        if f.exists():
            continue
        t0 = time.time()
        outs = [frame_outputs(frame, a.sensor, model) for _, frame in frames(path)]
        tmp = out_dir / f"{path.stem}.part.npz"
        np.savez(tmp, **_pack(outs))  # type: ignore[arg-type]
        tmp.rename(f)
        print(json.dumps({"clip": path.stem, "frames": len(outs), "s": round(time.time() - t0)}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
