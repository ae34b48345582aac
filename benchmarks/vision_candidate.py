"""Score a candidate camera net on the validation fifth, as the shipped one would be chosen.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_candidate.py --sensor visible \\
        [--weights cand.onnx] [--data ../shared/data/dd] [-o grid.json]

With ``--weights``, the box size lines are refitted for that net on the fit clips
(``vision_box.fit``, as ``skywarden vision fit-box`` does) and put in ``PARAMS`` before the
validation grid (``vision_train.choose``, ``skywarden vision choose``) is run; without it, the
shipped net and its shipped lines. Prints the box lines, the best-macro and best-pooled rows,
and the best-macro row per object threshold. Test clips are never read.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from skywarden.nodes import vision_detect
from skywarden.nodes.vision_box import fit
from skywarden.nodes.vision_cnn import CnnModel
from skywarden.nodes.vision_train import choose


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--sensor", choices=["ir", "visible"], required=True)
    ap.add_argument("--weights", help="candidate ONNX net (default: the shipped one)")
    ap.add_argument("-o", "--output", help="every grid row as JSON")
    a = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    if a.weights:
        model = CnnModel(a.weights)
        vision_detect.load_model = lambda sensor: model  # type: ignore[assignment]
        coef, n = fit(a.data, a.sensor)
        vision_detect.PARAMS[a.sensor] = replace(vision_detect.PARAMS[a.sensor], box=coef)
        print(json.dumps({"pairs": n, "box": coef}), flush=True)
    grid = choose(a.data, a.sensor)
    best = {k: max(grid, key=lambda r: r[k]) for k in ("macro", "f1")}
    print(json.dumps({"best_macro": best["macro"], "best_pooled": best["f1"]}))
    for ms in sorted({r["min_score"] for r in grid}):
        row = max((r for r in grid if r["min_score"] == ms), key=lambda r: r["macro"])
        print(json.dumps({k: round(v, 4) for k, v in row.items() if k not in ("tp", "fp", "fn")}))
    if a.output:
        with open(a.output, "w") as fh:
            json.dump(grid, fh, indent=1)


if __name__ == "__main__":
    main()
