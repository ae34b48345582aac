"""The camera detector's error budget on the validation fifth (``nodes/vision_budget.py``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_budget.py --sensor ir|visible \\
        [--cache /tmp/vbudget] [--data ../shared/data/dd] [--part val]

Caches the CNN's outputs for every frame of the part's clips (once; ``--cache``/SENSOR),
replays the shipped thresholds, box lines and smoother on them, and prints one JSON line per
group (all, distance bin, class of clip, label size): true positives, false negatives by
cause, false positives by cause, and the F1 had each cause alone been fixed. Test clips are
read only with ``--part test``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skywarden.nodes.dd_labels import read_description
from skywarden.nodes.vision_budget import budget, cache_part, report
from skywarden.nodes.vision_cnn import CLASSES
from skywarden.nodes.vision_detect import PARAMS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--sensor", choices=["ir", "visible"], required=True)
    ap.add_argument("--part", default="val", choices=["val", "fit", "test"])
    ap.add_argument("--cache", default="/tmp/vbudget")
    a = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    clips, fps = cache_part(a.data, a.sensor, a.part, Path(a.cache) / f"{a.sensor}_{a.part}")
    print(json.dumps({"clips": len(clips), "cnn_fps": round(fps, 1)}), flush=True)
    desc = read_description(Path(a.data) / "Video_dataset_description.xlsx")
    print(report(budget(clips, PARAMS[a.sensor], CLASSES, desc)))


if __name__ == "__main__":
    main()
