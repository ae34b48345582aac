"""Track-before-detect candidates (``nodes/vision_evidence.py``) replayed on cached CNN outputs.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_evidence_grid.py --sensor ir|visible \\
        [--cache /tmp/vbudget] [--data ../shared/data/dd] [--clips all|even|odd] \\
        [--set min_score=0.993,min_hits=2] [--budget] \\
        "FLOOR,PRIOR,DECAY,REPORT,MISS" ["none"] ...

The validation fifth's CNN outputs are cached once (``vision_budget.cache_part``, the same
cache as ``benchmarks/vision_budget.py``); each candidate ``Evidence`` (or "none": no weak
links) is put into the sensor's ``PARAMS`` (``--set``: other fields changed too) and replayed
through ``link_frame`` exactly as the node runs. One JSON line per candidate: precision,
recall, pooled and macro F1, F1 per distance bin and class of clip, and the validation clips
whose F1 moved by over 0.005 against the first candidate; ``--budget`` adds the error
budget's counts (``vision_budget.budget``) over all clips. ``--clips even|odd``: every
second validation clip, to choose on one half and confirm on the other.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from skywarden.nodes.dd_labels import CLASS_NAMES, read_description
from skywarden.nodes.vision_budget import budget, cache_part, replay
from skywarden.nodes.vision_cnn import CLASSES
from skywarden.nodes.vision_detect import PARAMS, SensorParams
from skywarden.nodes.vision_evidence import Evidence
from skywarden.nodes.vision_train import _prf, macro_f1, match


def scores(clips: list[Any], p: SensorParams, desc: dict[str, str]) -> tuple[Any, Any]:
    counts: dict[str, list[int]] = {}
    per_clip = {}
    for c in clips:
        tot = [0, 0, 0]
        for i, dets in replay(c, p, CLASSES):
            res = match(dets, c.labels[i] if i < len(c.labels) else [])
            tot = [a + b for a, b in zip(tot, res, strict=True)]
        for g in ("all", desc.get(c.stem, "UNKNOWN"), c.stem.split("_")[1]):
            old = counts.setdefault(g, [0, 0, 0])
            counts[g] = [a + b for a, b in zip(old, tot, strict=True)]
        per_clip[c.stem] = _prf(*tot)["f1"]
    return {k: _prf(*v) for k, v in counts.items()}, per_clip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("candidates", nargs="+")
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--sensor", choices=["ir", "visible"], required=True)
    ap.add_argument("--cache", default="/tmp/vbudget")
    ap.add_argument("--clips", default="all", choices=["all", "even", "odd"])
    ap.add_argument("--set", default="")
    ap.add_argument("--budget", action="store_true")
    a = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    clips, _ = cache_part(a.data, a.sensor, "val", Path(a.cache) / f"{a.sensor}_val")
    clips = {"all": clips, "even": clips[0::2], "odd": clips[1::2]}[a.clips]
    desc = read_description(Path(a.data) / "Video_dataset_description.xlsx")
    kw: dict[str, Any] = {}
    for item in filter(None, a.set.split(",")):
        k, v = item.split("=")
        kw[k] = int(v) if k == "min_hits" else float(v)
    base = dataclasses.replace(PARAMS[a.sensor], **kw)
    first: dict[str, float] | None = None
    for spec in a.candidates:
        ev = None if spec == "none" else Evidence(*map(float, spec.split(",")))
        p = dataclasses.replace(base, evidence=ev)
        s, pc = scores(clips, p, desc)
        row: dict[str, Any] = {"evidence": spec, "clips": len(clips)}
        row |= {k: round(s["all"][k], 4) for k in ("precision", "recall", "f1")}
        row |= {"macro": round(macro_f1(s), 4)}
        row |= {k.lower(): round(s[k]["f1"], 3) for k in ("CLOSE", "MEDIUM", "DISTANT") if k in s}
        row |= {k.lower(): round(s[k]["f1"], 3) for k in CLASS_NAMES if k in s}
        if first is None:
            first = pc
        else:
            row["up"] = [k for k in pc if pc[k] > first[k] + 0.005]
            row["down"] = [k for k in pc if pc[k] < first[k] - 0.005]
        if a.budget:
            row["budget"] = budget(clips, p, CLASSES, desc)["all"]
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
