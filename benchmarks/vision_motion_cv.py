"""Does a link's motion help the camera node's class decision? Cross-validation over fifths
of the training clips (session 16, issue 23; ``nodes/vision_motion.py``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_motion_cv.py --sensor ir|visible \\
        --cache /tmp/vcls/cache [--data ../shared/data/dd] [--weights 0.25,0.5,1,2] [--c 1.0]
    ... --fit-all W -o src/skywarden/nodes/weights/vision_motion_SENSOR.json

Why cross-validation: the validation fifth alone is 19-24 clips, and one clip decides a
class (session 15: a +0.04 validation gain was -0.01 on test). The training clips are dealt
into five folds by their index in the sorted training list (``index % 5``; fold 0 is the
validation fifth, the only fold the CNN was not fitted on -- on folds 1-4 its class memory is
optimistic, so the room left for motion there is smaller than on unseen clips).

The CNN outputs of every training frame come from ``vision_budget.cache_part``'s cache
(``CACHE/SENSOR_val`` and ``CACHE/SENSOR_fit``, made with ``benchmarks/vision_budget.py
--part val|fit``). Each clip is replayed ONCE through the shipped threshold, box lines and
``TrackSmoother``; for every reported detection its link's CNN class memory and motion
features are recorded (the link's geometry does not depend on the class decision, so every
candidate weight is scored from that one replay, exactly as the node would label it). For
fold k a ``MotionModel`` is fitted on the other folds' links (``vision_motion.fit``) and
each weight scored on fold k, pooled and macro F1 (``vision_train.macro_f1``), old (the
shipped appearance-only decision) vs new, from the same replay.

``--fit-all W``: the model fitted on every training clip with weight W, written to ``-o``.
"""

from __future__ import annotations

import argparse
import json
import pickle
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.dd_labels import Box, read_labels
from skywarden.nodes.vision_budget import CachedClip, _unpack
from skywarden.nodes.vision_cnn import CLASSES
from skywarden.nodes.vision_detect import PARAMS, Detection, TrackSmoother, _Link, link_frame
from skywarden.nodes.vision_motion import FEATURES, MotionModel, features, fit, save, weigh
from skywarden.nodes.vision_train import _prf, clip_paths, macro_f1, match, part_paths

OBJ = tuple(c for c in CLASSES if c != "background")
CLIP_CLASS = {"AIRPLANE": "aeroplane", "BIRD": "bird", "DRONE": "drone", "HELICOPTER": "helicopter"}


class Recorder(TrackSmoother):
    """The shipped smoother, recording each reported link's class memory and features."""

    seen: dict[int, tuple[NDArray[np.float64], NDArray[np.float64] | None]]

    def _decide(self, link: _Link) -> int:
        idx = [CLASSES.index(c) for c in OBJ]
        self.seen[link.ident] = (np.asarray(link.acc[idx], dtype=np.float64), features(link.hist))
        return super()._decide(link)


@dataclass(frozen=True)
class Out:
    """One reported detection: box, score, link memory over ``OBJ``, motion features."""

    box: tuple[float, float, float, float]
    score: float
    acc: NDArray[np.float64]
    feats: NDArray[np.float64] | None


def replay(clip: CachedClip) -> list[list[Out]]:
    p = PARAMS[SENSOR]
    # a weight-0 model: the links keep their history, the decision stays appearance-only
    zero = MotionModel(OBJ, (0.0,) * 6, (1.0,) * 6, ((0.0,) * 6,) * 4, (0.0,) * 4, 0.0)
    sm = Recorder(
        CLASSES,
        decay=p.decay,
        min_hits=p.min_hits,
        size_memory=p.size_memory,
        evidence=p.evidence,
        motion=zero,
    )
    frames = []
    for o in clip.outputs:
        sm.seen = {}
        dets = link_frame(sm, o, replace(p, motion=zero), CLASSES, p.min_score)
        frames.append([Out(d.box, d.score, *sm.seen[d.track]) for d in dets])
    return frames


def label(acc: NDArray[np.float64], f: NDArray[np.float64] | None, m: MotionModel | None) -> str:
    """``vision_motion.decide`` on the recorded memory (over ``OBJ``, the models' classes)."""
    if m is None or f is None or m.weight == 0.0:
        return OBJ[int(np.argmax(acc))]
    return m.classes[weigh(acc, f, m)]


def counts(frames: list[list[Out]], labels: list[list[Box]], m: MotionModel | None) -> list[int]:
    tot = [0, 0, 0]
    for i, outs in enumerate(frames):
        dets = [Detection(o.box, label(o.acc, o.feats, m), o.score) for o in outs]
        res = match(dets, labels[i] if i < len(labels) else [])
        tot = [a + b for a, b in zip(tot, res, strict=True)]
    return tot


def samples(
    frames: list[list[Out]], labels: list[list[Box]]
) -> list[tuple[NDArray[np.float64], int]]:
    """(features, class index in ``OBJ``) of each reported detection with features whose
    centre lies inside a label box."""
    out = []
    for i, outs in enumerate(frames):
        for o in outs:
            if o.feats is None or i >= len(labels):
                continue
            cx, cy = o.box[0] + o.box[2] / 2, o.box[1] + o.box[3] / 2
            for b in labels[i]:
                if b.x <= cx <= b.x + b.w and b.y <= cy <= b.y + b.h:
                    out.append((o.feats, OBJ.index(b.label)))
                    break
    return out


def scores(per_clip: dict[str, list[int]]) -> dict[str, float]:
    by: dict[str, list[int]] = {}
    for stem, t in per_clip.items():
        for key in ("all", stem.split("_")[1]):
            old = by.setdefault(key, [0, 0, 0])
            by[key] = [a + b for a, b in zip(old, t, strict=True)]
    s = {k: _prf(*v) for k, v in by.items()}
    return {"pooled": round(s["all"]["f1"], 4), "macro": round(macro_f1(s), 4)} | {
        CLIP_CLASS[k]: round(v["f1"], 4) for k, v in s.items() if k in CLIP_CLASS
    }


SENSOR = "ir"


def widen(m: MotionModel, use: list[int]) -> MotionModel:
    """A model fitted on the features ``use`` as one over all ``FEATURES`` (the others get
    weight 0)."""
    n = len(FEATURES)
    mean, scale = [0.0] * n, [1.0] * n
    coef = [[0.0] * n for _ in m.coef]
    for j, u in enumerate(use):
        mean[u], scale[u] = m.mean[j], m.scale[j]
        for r in range(len(m.coef)):
            coef[r][u] = m.coef[r][j]
    return MotionModel(
        m.classes, tuple(mean), tuple(scale), tuple(map(tuple, coef)), m.intercept, m.weight
    )


def main() -> None:
    global SENSOR
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--sensor", choices=["ir", "visible"], required=True)
    ap.add_argument("--cache", default="/tmp/vcls/cache")
    ap.add_argument("--weights", default="0.25,0.5,1,2")
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--use", default="", help="feature indices to fit on (default: all)")
    ap.add_argument("--fit-all", type=float, default=None)
    ap.add_argument("-o", default=None)
    a = ap.parse_args()
    SENSOR = a.sensor
    use = [int(v) for v in a.use.split(",")] if a.use else list(range(len(FEATURES)))
    train = [p.stem for p in clip_paths(a.data, a.sensor, test=False)]
    fold = {s: g % 5 for g, s in enumerate(train)}
    saved = Path(a.cache) / f"{a.sensor}_replay.pkl"  # this script's own /tmp output
    if saved.exists():
        rep = pickle.loads(saved.read_bytes())
    else:
        rep = {}
        for part in ("val", "fit"):
            for path in part_paths(a.data, a.sensor, part):
                with np.load(Path(a.cache) / f"{a.sensor}_{part}" / f"{path.stem}.npz") as d:
                    outs = _unpack(d)
                labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
                rep[path.stem] = (replay(CachedClip(path.stem, outs, labels)), labels)
        saved.write_bytes(pickle.dumps(rep))
    samp = {s: samples(fr, lab) for s, (fr, lab) in rep.items()}
    print(json.dumps({"clips": len(rep), "samples": sum(len(v) for v in samp.values())}))

    def model_without(k: int | None, w: float) -> MotionModel:
        xs, ys, gs = [], [], []
        for gi, s in enumerate(train):
            if s in samp and fold[s] != k:
                for f, y in samp[s]:
                    xs.append(f)
                    ys.append(y)
                    gs.append(gi)
        x, y, g = np.asarray(xs), np.asarray(ys, dtype=np.int64), np.asarray(gs, dtype=np.int64)
        m = fit(x[:, use], y, g, OBJ, w, a.c)
        return widen(m, use)

    if a.fit_all is not None:
        m = model_without(None, a.fit_all)
        how = (
            f"benchmarks/vision_motion_cv.py --sensor {a.sensor} --cache CACHE "
            f"--fit-all {a.fit_all} --c {a.c} --use {a.use or 'all'} "
            f"(every training clip; CACHE from benchmarks/vision_budget.py --part val|fit)"
        )
        save(m, a.o or f"vision_motion_{a.sensor}.json", how)
        print(json.dumps({"features": FEATURES, "coef": m.coef, "intercept": m.intercept}))
        return
    weights = [float(v) for v in a.weights.split(",")]
    wins = {w: 0 for w in weights}
    for k in range(5):
        base = replace(model_without(k, 1.0), weight=0.0)
        stems = [s for s in rep if fold[s] == k]
        old_per = {s: counts(*rep[s], None) for s in stems}
        old = scores(old_per)
        row: dict[str, object] = {"fold": k, "clips": len(stems), "old": old}
        for w in weights:
            m = replace(base, weight=w)
            per = {s: counts(*rep[s], m) for s in stems}
            new = scores(per)
            up = sum(_prf(*per[s])["f1"] > _prf(*old_per[s])["f1"] + 0.005 for s in stems)
            down = sum(_prf(*per[s])["f1"] < _prf(*old_per[s])["f1"] - 0.005 for s in stems)
            row[f"w={w:g}"] = new | {"clips_up": up, "clips_down": down}
            if new["pooled"] > old["pooled"] and new["macro"] > old["macro"]:
                wins[w] += 1
        print(json.dumps(row), flush=True)
    print(json.dumps({"folds_won_on_both": {f"w={w:g}": n for w, n in wins.items()}}))


if __name__ == "__main__":
    main()
