"""Does a link's motion help the camera node's class decision? Cross-validation over fifths
of the training clips (session 16, issue 23; ``nodes/vision_motion.py``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vision_motion_cv.py --sensor ir|visible \\
        --cache /tmp/vcls/cache [--data ../shared/data/dd] [--weights 0.125,0.25,0.5,1,2] \\
        [--c 1.0] [--ref 0.25] [--oof OOF]
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

Session 17: the weight is also chosen NESTED, inside each outer fold k: from 0 (appearance
only) and ``--weights`` by an inner CV over the four other folds (each inner fold scored by
the model fitted on the remaining three; criterion the mean over the inner folds of (pooled +
macro F1) / 2, ties to the smaller weight), then the model of the four folds with that weight
scored once on fold k -- the honest estimate of "choose the weight by CV, then ship". Each row
also prints ``ref`` (the motion model at the fixed ``--ref`` weight, session 16's number) and
every fixed weight (for reading, not for choosing). Only the frames where a model names some
detection differently from appearance only are matched again (same counts, faster).
Session 17's brightness feature sets (``--sets bright,bright_only``) are at commit 634222a.

Session 18 (``--oof OOF``): the CNN outputs of each clip come instead from the net trained
with the shipped recipe WITHOUT the clip's fold (``benchmarks/vision_oof.py``, five nets, one
per fold), so the appearance scores are out of sample on every fold, as a new clip's would
be, and the motion term's gain on top of them is measured honestly. The replay is kept in
``OOF/SENSOR_oof_replay.pkl``. (The inner CV of outer fold k scores fold j on the net
trained without j, which saw fold k's clips: the usual stacking compromise; nothing is
fitted on fold k's labels.)

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


SETS = {"motion": FEATURES}  # session 17's brightness sets: commit 634222a


def cache_file(cache: str, oof: str | None, sensor: str, part: str, stem: str) -> Path:
    """A training clip's cached CNN outputs: the shipped net's (``CACHE/SENSOR_PART``,
    ``vision_budget.py``) or, with ``--oof``, those of the net fitted without the clip's fold
    (``OOF/SENSOR_oof``, ``vision_oof.py``)."""
    if oof is not None:
        return Path(oof) / f"{sensor}_oof" / f"{stem}.npz"
    return Path(cache) / f"{sensor}_{part}" / f"{stem}.npz"


def f1s(per: dict[str, list[int]]) -> float:
    """The nested choice's criterion: the mean of pooled and macro F1."""
    sc = scores(per)
    return (sc["pooled"] + sc["macro"]) / 2.0


def main() -> None:
    global SENSOR
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--sensor", choices=["ir", "visible"], required=True)
    ap.add_argument("--cache", default="/tmp/vcls/cache")
    ap.add_argument("--weights", default="0.125,0.25,0.5,1,2")
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--sets", default="motion", help="feature sets: " + ",".join(SETS))
    ap.add_argument("--ref", type=float, default=0.25, help="the shipped motion model's weight")
    ap.add_argument("--fit-all", type=float, default=None)
    ap.add_argument("-o", default=None)
    ap.add_argument("--partial", action="store_true", help="skip uncached clips (a dry run)")
    ap.add_argument(
        "--oof",
        default=None,
        help="read out-of-fold CNN outputs from OOF/SENSOR_oof (benchmarks/vision_oof.py)",
    )
    a = ap.parse_args()
    SENSOR = a.sensor
    train = [p.stem for p in clip_paths(a.data, a.sensor, test=False)]
    fold = {s: g % 5 for g, s in enumerate(train)}
    # the replay is this script's own output, kept beside the caches it was made from
    saved = Path(a.oof or a.cache) / f"{a.sensor}_{'oof_' if a.oof else ''}replay.pkl"
    if saved.exists() and not a.partial:
        rep = pickle.loads(saved.read_bytes())
    else:
        rep = {}
        for part in ("val", "fit"):
            for path in part_paths(a.data, a.sensor, part):
                f = cache_file(a.cache, a.oof, a.sensor, part, path.stem)
                if a.partial and not f.exists():
                    continue
                with np.load(f) as d:
                    outs = _unpack(d)
                labels = read_labels(path.with_name(path.stem + "_LABELS.mat"))
                rep[path.stem] = (replay(CachedClip(path.stem, outs, labels)), labels)
        if not a.partial:
            saved.write_bytes(pickle.dumps(rep))
    samp = {s: samples(fr, lab) for s, (fr, lab) in rep.items()}
    print(json.dumps({"clips": len(rep), "samples": sum(len(v) for v in samp.values())}))

    def model_without(out: set[int], w: float, names: tuple[str, ...]) -> MotionModel:
        """The model fitted on the clips of every fold not in ``out``, on ``names``."""
        cols = [FEATURES.index(n) for n in names]
        xs, ys, gs = [], [], []
        for gi, s in enumerate(train):
            if s in samp and fold[s] not in out:
                for f, y in samp[s]:
                    xs.append(f[cols])
                    ys.append(y)
                    gs.append(gi)
        x, y, g = np.asarray(xs), np.asarray(ys, dtype=np.int64), np.asarray(gs, dtype=np.int64)
        return fit(x, y, g, OBJ, w, a.c)

    if a.fit_all is not None:
        if a.oof is not None:
            raise SystemExit("--fit-all fits on the shipped net's replay: drop --oof")
        m = model_without(set(), a.fit_all, FEATURES)
        how = (
            f"benchmarks/vision_motion_cv.py --sensor {a.sensor} --cache CACHE "
            f"--fit-all {a.fit_all} --c {a.c} "
            f"(every training clip; CACHE from benchmarks/vision_budget.py --part val|fit)"
        )
        save(m, a.o or f"vision_motion_{a.sensor}.json", how)
        print(json.dumps({"features": FEATURES, "coef": m.coef, "intercept": m.intercept}))
        return
    weights = [float(v) for v in a.weights.split(",")]
    sets = a.sets.split(",")
    folds_of = {k: [s for s in rep if fold[s] == k] for k in range(5)}
    print(json.dumps({"clips_per_fold": [len(v) for v in folds_of.values()]}), flush=True)
    old_per = {s: counts(*rep[s], None) for s in rep}

    # each clip's appearance-only labels and match results per frame: a model's counts
    # re-match only the frames where it names some detection differently (same numbers)
    old_lab = {s: [[label(o.acc, o.feats, None) for o in fr] for fr in rep[s][0]] for s in rep}
    old_res = {
        s: [
            match(
                [Detection(o.box, lab, o.score) for o, lab in zip(fr, ls, strict=True)],
                rep[s][1][i] if i < len(rep[s][1]) else [],
            )
            for i, (fr, ls) in enumerate(zip(rep[s][0], old_lab[s], strict=True))
        ]
        for s in rep
    }

    def fast_counts(s: str, m: MotionModel) -> list[int]:
        frames, labels = rep[s]
        tot = [0, 0, 0]
        for i, fr in enumerate(frames):
            ls = [label(o.acc, o.feats, m) for o in fr]
            if ls == old_lab[s][i]:
                res = old_res[s][i]
            else:
                dets = [Detection(o.box, lab, o.score) for o, lab in zip(fr, ls, strict=True)]
                res = match(dets, labels[i] if i < len(labels) else [])
            tot = [a + b for a, b in zip(tot, res, strict=True)]
        return tot

    def per_clip(stems: list[str], m: MotionModel | None) -> dict[str, list[int]]:
        return {s: old_per[s] if m is None else fast_counts(s, m) for s in stems}

    def nested(k: int, names: tuple[str, ...]) -> tuple[float, dict[str, float]]:
        """The weight (0: appearance only) chosen by CV over the four folds other than
        ``k`` (each scored by the model fitted on the other three), then the model of those
        four folds with it."""
        crit = {0.0: 0.0} | {w: 0.0 for w in weights}
        for j in (j for j in range(5) if j != k):
            base = model_without({k, j}, 1.0, names)
            stems = folds_of[j]
            crit[0.0] += f1s({s: old_per[s] for s in stems})
            for w in weights:
                crit[w] += f1s(per_clip(stems, replace(base, weight=w)))
        best = max(crit, key=lambda w: (round(crit[w], 9), -w))
        inner = {f"{w:g}": round(v / 4.0, 4) for w, v in crit.items()}
        return best, inner

    wins: dict[str, int] = {}
    for k in range(5):
        stems = folds_of[k]
        old = scores({s: old_per[s] for s in stems})
        full = model_without({k}, 1.0, FEATURES)  # fitted once: "motion" is FEATURES
        ref = scores(per_clip(stems, replace(full, weight=a.ref)))
        row: dict[str, object] = {"fold": k, "clips": len(stems), "old": old, "ref": ref}
        for name in sets:
            names = SETS[name]
            base = full if names == FEATURES else model_without({k}, 1.0, names)
            fixed = {f"{w:g}": scores(per_clip(stems, replace(base, weight=w))) for w in weights}
            w, inner = nested(k, names)
            new = old if w == 0.0 else scores(per_clip(stems, replace(base, weight=w)))
            row[name] = {"chosen_w": w, "inner": inner, "nested": new, "fixed": fixed}
            for vs, tag in ((old, "old"), (ref, "ref")):
                won = new["pooled"] > vs["pooled"] and new["macro"] > vs["macro"]
                key = f"{name}_nested_beats_{tag}"
                wins[key] = wins.get(key, 0) + int(won)
        print(json.dumps(row), flush=True)
    print(json.dumps({"folds_won_on_both": wins}))


if __name__ == "__main__":
    main()
