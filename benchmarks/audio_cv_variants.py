"""Feature groups, augmentations and ensembles for the microphone classifier, compared by
cross-validation on the training clips only (issue 23, session 11).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/audio_cv_variants.py \
        [--variants base,flat,...] [--seeds 0,1,2] [--data ../shared/data/dd/audio]

Never reads a test clip (``acoustic_train.clips(..., test=False)``). Per seed the 30
training clips are dealt into 5 class-stratified folds (``acoustic_train.stratified_folds``),
the shipped model (32 units, alpha 1, standardised inputs) is fitted on 4 and the held-out
clips are scored as the node runs (back-to-back seconds, smoothed: by default the decay-0.5
evidence accumulation shipped until session 11, ``audio_robustness.decay_smooth``; the
``hmm`` variants use the HMM filter shipped since, ``acoustic.smooth``):

- ``clip``: each held-out clip alone (what ``acoustic_train.cross_validate`` scores);
- ``s10``/``s5``: each held-out drone/helicopter clip mixed into each held-out background
  clip at 10/5 dB clip signal-to-background ratio, with the held-out backgrounds alone;
- ``site`` (session 14): one node hearing a held-out background clip, then a held-out
  drone/helicopter clip mixed into that same background at 10 dB (20 s, one stream: the
  smoother's memory and a variant's site reference carry over the change); ``long``: the
  same with the mixture six times over (a source heard for a minute after the site's own
  sound; a site reference must not learn it away).

Session 14 variants (docs/vision.md, "Session 14, branch audio2"): ``ref*`` append each
window's rise over a minimum-statistics floor of the stream's own band levels
(``site_rise``), ``site_train`` adds training windows of each source heard at a training
site after that site's background, ``lvl*`` adds training copies of each source clip
attenuated by 10/20 dB and added to a training background.

Prints macro F1 per condition and the clips with the most wrong seconds (summed over seeds).
Window features are cached in ``--cache``, keyed by the audio_features.py source, the
mixing and resampling functions and each feature group's own source.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# run as a script: benchmarks/ is on the path
from audio_robustness import Data as RobustnessData
from audio_robustness import mix, smoother

from skywarden.nodes.acoustic import CLASSES
from skywarden.nodes.acoustic_train import macro_f1, stratified_folds
from skywarden.nodes.audio_features import SAMPLE_RATE, window_features, windows

Arr = np.ndarray[Any, Any]


def band_shape(x: Arr) -> Arr:
    """Spectral flatness and contrast in 7 octave bands (62.5 Hz - 8 kHz) of the window's
    mean 1024-point power spectrum: flatness = log(geometric mean / arithmetic mean) of the
    band's bins (Wiener entropy; 0 for white noise, very negative for lines); contrast = the
    mean dB of the band's top fifth of bins minus that of its bottom fifth (Jiang et al.
    2002, the "spectral contrast" of librosa). Neither needs one line to stand out."""
    n, hop = 1024, 512
    idx = np.arange(n)[None, :] + hop * np.arange(1 + (x.size - n) // hop)[:, None]
    p = (np.abs(np.fft.rfft(x[idx] * np.hanning(n), axis=1)) ** 2).mean(axis=0) + 1e-12
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    flat, con = [], []
    for k in range(7):
        lo, hi = 62.5 * 2**k, 62.5 * 2 ** (k + 1)
        b = p[(f >= lo) & (f < hi)]
        flat.append(np.mean(np.log(b)) - np.log(np.mean(b)))
        db = np.sort(10.0 * np.log10(b))
        q = max(1, b.size // 5)
        con.append(db[-q:].mean() - db[:q].mean())
    return np.array(flat + con, dtype=np.float32)


def envelope_periodicity(x: Arr) -> Arr:
    """Periodicity of the amplitude envelope at blade-pass rates without a spectral line: per
    band (50-500 Hz, 0.5-2 kHz, 2-8 kHz) the energy envelope at 500 Hz (64-sample frames,
    32 apart), mean removed; its normalised autocorrelation's highest value at lags of 5-100
    ms (10-200 Hz) that is a local maximum, as its height above the lowest value at shorter
    lags (a smooth envelope's falling autocorrelation has no such peak: 0), and the log of
    that lag's rate (0 without a peak)."""
    n, hop = 64, 32
    idx = np.arange(n)[None, :] + hop * np.arange(1 + (x.size - n) // hop)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n), axis=1)) ** 2
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    rate = SAMPLE_RATE / hop
    out = []
    for lo, hi in ((50.0, 500.0), (500.0, 2000.0), (2000.0, 8000.0)):
        env = np.log(spec[:, (f >= lo) & (f < hi)].sum(axis=1) + 1e-12)
        env = env - env.mean()
        m = env.size
        ac = np.fft.irfft(np.abs(np.fft.rfft(env, 2 * m)) ** 2)[:m]
        ac = ac / (ac[0] + 1e-12) * m / (m - np.arange(m))  # unbiased, r(0) = 1
        lags = np.arange(int(0.005 * rate), int(0.1 * rate) + 1)
        peak = (ac[lags] > ac[lags - 1]) & (ac[lags] >= ac[lags + 1])  # local maxima only
        if not peak.any():
            out += [0.0, 0.0]
            continue
        height = np.where(peak, ac[lags] - np.minimum.accumulate(ac[: lags[-1] + 1])[lags], -1)
        k = int(np.argmax(height))
        out += [float(height[k]), float(np.log(rate / lags[k]))]
    return np.array(out, dtype=np.float32)


def cepstral_pitch(x: Arr) -> Arr:
    """Harmonic structure as one number: the real cepstrum of the mean 4096-point log power
    spectrum, its highest value at quefrencies 2.5-16.7 ms (fundamentals 60-400 Hz), that
    quefrency's log rate, and the peak over the median cepstrum value there. A comb of weak
    harmonics adds up in the cepstrum even when no single line stands 6 dB out."""
    n, hop = 4096, 2048
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    idx = np.arange(n)[None, :] + hop * np.arange(1 + (x.size - n) // hop)[:, None]
    p = (np.abs(np.fft.rfft(x[idx] * np.hanning(n), axis=1)) ** 2).mean(axis=0)
    cep = np.fft.irfft(np.log(p + 1e-12 * p.max() + 1e-30))
    q = np.arange(cep.size) / SAMPLE_RATE
    sel = (q >= 1 / 400) & (q <= 1 / 60)
    c = cep[sel]
    k = int(np.argmax(c))
    return np.array(
        [float(c[k]), float(np.log(1.0 / q[sel][k])), float(c[k] / (np.median(np.abs(c)) + 1e-9))],
        dtype=np.float32,
    )


def band_levels(x: Arr) -> Arr:
    """The window's absolute log-mel band levels (dB): per band the mean over frames and the
    10th percentile (the quiet frames: the floor a minimum-statistics tracker follows). Not a
    feature by itself: ``site_rise`` turns a stream of these into levels above the stream's
    own floor."""
    from skywarden.nodes.audio_features import log_mel

    s = log_mel(x.astype(np.float32))
    return np.concatenate([s.mean(axis=0), np.percentile(s, 10, axis=0)]).astype(np.float32)


def site_rise(levels: Arr, memory: int, pool: int = 5) -> Arr:
    """A site background reference by minimum statistics (Martin 2001, "Noise power spectral
    density estimation based on optimal smoothing and minimum statistics", IEEE Trans. Speech
    Audio Process. 9(5)): per mel band the floor is the minimum, over the last ``memory``
    windows of the stream (this one included), of the window's 10th-percentile frame level;
    each window's feature is its mean band level above that floor (dB), averaged over
    ``pool`` adjacent bands, plus the mean over all bands. Causal: row t uses rows <= t.
    Martin's bias compensation is a constant per band in dB, which the standardisation
    removes."""
    n, m = levels.shape[0], levels.shape[1] // 2
    mean, q = levels[:, :m], levels[:, m:]
    floor = np.stack([q[max(0, t - memory + 1) : t + 1].min(axis=0) for t in range(n)])
    rise = mean - floor
    pooled = rise.reshape(n, m // pool, pool).mean(axis=2)
    return np.concatenate([pooled, rise.mean(axis=1, keepdims=True)], axis=1).astype(np.float32)


GROUPS: dict[str, Callable[[Arr], Arr]] = {
    "base": lambda x: window_features(x.astype(np.float32)),
    "flat": band_shape,
    "envper": envelope_periodicity,
    "ceppitch": cepstral_pitch,
    "levels": band_levels,
}

VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "flat": {"groups": ["base", "flat"]},
    "envper": {"groups": ["base", "envper"]},
    "ceppitch": {"groups": ["base", "ceppitch"]},
    "all3": {"groups": ["base", "flat", "envper", "ceppitch"]},
    "pitch10": {"pitch": (0.9, 1.1)},  # every clip twice more, resampled by 0.9 and 1.1
    "pitch5": {"pitch": (0.95, 1.05)},
    "ens3": {"ens": 3},
    "hgb": {"model": "hgb"},
    "rf": {"model": "rf"},
    "mlp+hgb": {"model": "mlp+hgb"},
    "mlp+hgb_nolevel": {"model": "mlp+hgb", "tree_drop": [160]},
    "hmm0.03": {"smoother": "h0.03:1"},  # shipped since session 11
    "mlp+hgb_nolevel+hmm": {"model": "mlp+hgb", "tree_drop": [160], "smoother": "h0.03:1"},
    "svm": {"model": "svm"},
    # session 14 (all with the shipped HMM filter)
    "ref30": {"smoother": "h0.03:1", "ref": 30},  # + rise over a 30 s minimum-statistics floor
    "ref10": {"smoother": "h0.03:1", "ref": 10},
    "ref30site": {"smoother": "h0.03:1", "ref": 30, "site_train": True},
    "site": {"smoother": "h0.03:1", "site_train": True},  # the same windows, no reference
    "site_bal": {"smoother": "h0.03:1", "site_train": True, "balance": True},
    "ref30site_bal": {"smoother": "h0.03:1", "ref": 30, "site_train": True, "balance": True},
    "lvl0_bal": {
        "smoother": "h0.03:1",
        "lvl": (-10.0, -20.0),
        "lvl_min_snr": 0.0,
        "balance": True,
    },
    "site10_20": {"smoother": "h0.03:1", "site_train": True, "site_snr": (10.0, 20.0)},
    "ref30site10_20": {
        "smoother": "h0.03:1",
        "ref": 30,
        "site_train": True,
        "site_snr": (10.0, 20.0),
    },
    "lvl": {"smoother": "h0.03:1", "lvl": (-10.0, -20.0)},  # attenuated copies in backgrounds
    "lvl0": {"smoother": "h0.03:1", "lvl": (-10.0, -20.0), "lvl_min_snr": 0.0},
    "lvl10": {"smoother": "h0.03:1", "lvl": (-10.0,)},
}


def resample_by(x: Arr, r: float) -> Arr:
    """Played ``r`` times faster: every frequency (rotor, blade pass and background) times r."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    fr = Fraction(r).limit_denominator(40)
    return np.asarray(resample_poly(x, fr.denominator, fr.numerator))


class Data(RobustnessData):
    """``audio_robustness.Data``'s clips and cache, features by group (``GROUPS``)."""

    def __init__(self, data_dir: str, cache: Path) -> None:
        import inspect

        # keyed by the source of what makes the audio (mixing, resampling) here and of each
        # feature group in its tag (``group_feats``), not by the whole file: adding a variant
        # or changing how one is scored keeps the cache
        salt = "".join(inspect.getsource(f) for f in (mix, resample_by)).encode()
        super().__init__(data_dir, cache, salt=salt)

    def group_feats(self, key: str, make: Callable[[], Arr], hop: float | None, group: str) -> Arr:
        """One feature group (``GROUPS``) of every 1 s window (``windows``) of ``make()``."""

        def compute() -> Arr:
            from skywarden.nodes.audio_features import Audio

            x = make().astype(np.float32)
            wins = windows(Audio(x[:, None], SAMPLE_RATE), 1.0, hop)
            return np.stack([GROUPS[group](w) for _, w in wins])

        import inspect

        src = hashlib.md5(inspect.getsource(GROUPS[group]).encode()).hexdigest()[:8]
        return self.cached(f"{key}|{hop}|{group}|{src}", compute)

    def get(self, key: str, make: Callable[[], Arr], hop: float | None, groups: list[str]) -> Arr:
        return np.concatenate([self.group_feats(key, make, hop, g) for g in groups], axis=1)


class Sk:
    """A scikit-learn classifier behind ``Mlp``'s ``proba``/``classes`` (exploration only)."""

    def __init__(self, clf: Any, keep: Arr | None = None) -> None:
        self.clf, self.keep = clf, keep
        self.classes = tuple(str(c) for c in clf.classes_)

    def proba(self, f: Arr) -> Arr:
        f = f if self.keep is None else f[:, self.keep]
        return np.asarray(self.clf.predict_proba(f), dtype=np.float32)


def fit(x: Arr, y: list[str], v: dict[str, Any], seed: int) -> list[Any]:
    from skywarden.nodes.acoustic_train import _fit, _to_mlp

    if v.get("model") == "mlp+hgb":
        return fit(x, y, {**v, "model": None}, seed) + fit(x, y, {**v, "model": "hgb"}, seed)
    if v.get("model") == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        hgb = HistGradientBoostingClassifier(
            max_depth=3, learning_rate=0.1, max_iter=v.get("iter", 100), random_state=seed
        )
        keep = np.ones(x.shape[1], dtype=bool)
        keep[v.get("tree_drop", [])] = False  # 160: the window level, the one absolute value
        return [Sk(hgb.fit(x[:, keep], y), keep)]
    if v.get("model") == "rf":
        from sklearn.ensemble import RandomForestClassifier

        rf = RandomForestClassifier(300, min_samples_leaf=5, random_state=seed, n_jobs=1)
        return [Sk(rf.fit(x, y))]
    if v.get("model") == "svm":
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        svm = make_pipeline(
            StandardScaler(), SVC(C=v.get("C", 1.0), probability=True, random_state=seed)
        )
        return [Sk(svm.fit(x, y))]
    return [
        _to_mlp(_fit(x, y, v.get("hidden", 32), v.get("alpha", 1.0), seed * 100 + e))
        for e in range(v.get("ens", 1))
    ]


def proba(models: list[Any], f: Arr) -> Arr:
    """Mean of the members' log-probabilities, renormalised (a product of experts)."""
    lp = np.mean([np.log(np.clip(m.proba(f), 1e-6, 1.0)) for m in models], axis=0)
    e = np.exp(lp - lp.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def evaluate(d: Data, v: dict[str, Any], seeds: list[int]) -> str:
    groups = v.get("groups", ["base"])
    ref = v.get("ref")

    def piece(key: str, make: Callable[[], Arr], hop: float | None) -> tuple[Arr, Arr]:
        """(features, band levels when the variant has a site reference) of one stretch."""
        lv = d.group_feats(key, make, hop, "levels") if ref else np.zeros((0, 0))
        return d.get(key, make, hop, groups), lv

    def stream(pieces: list[tuple[Arr, Arr]], hop: float | None) -> Arr:
        """Features of stretches heard one after the other by one node (its reference
        carried across them)."""
        f = np.concatenate([p[0] for p in pieces])
        if not ref:
            return f
        lv = np.concatenate([p[1] for p in pieces])
        return np.concatenate([f, site_rise(lv, round(ref / (hop or 1.0)))], axis=1)

    clip_fit = [piece(f"c{i}", lambda x=x: x, 0.5) for i, x in enumerate(d.mono)]
    clip_score = [piece(f"c{i}", lambda x=x: x, None) for i, x in enumerate(d.mono)]
    fitf = [stream([p], 0.5) for p in clip_fit]
    score = [stream([p], None) for p in clip_score]
    aug: list[tuple[int, int, Arr]] = []  # (clip, background clip used or -1, features)
    for r in v.get("pitch", ()):
        for i, x in enumerate(d.mono):
            aug.append((i, -1, d.get(f"p{i}_{r}", lambda x=x, r=r: resample_by(x, r), 0.5, groups)))
    power = [float(np.mean(x**2)) for x in d.mono]
    for g in v.get("lvl", ()):  # per source clip and gain, each seed's own background draw
        for seed in seeds:
            rng = np.random.default_rng(1000 + seed)
            for i, x in enumerate(d.mono):
                if d.labels[i] == "background":
                    continue
                j = int(rng.choice(d.bg))
                snr = 10 * np.log10(power[i] / power[j]) + g
                if snr < v.get("lvl_min_snr", -np.inf):
                    continue

                def make(x: Arr = x, j: int = j, g: float = g) -> Arr:
                    return np.asarray(x * 10 ** (g / 20) + np.resize(d.mono[j], x.size))

                aug.append((i, j, stream([piece(f"l{i}_{j}_{g}", make, 0.5)], 0.5)))
    for seed in seeds if v.get("site_train") else ():
        # each source clip heard at one training site: that site's background first (so the
        # reference has learned it), then the source over it at 0-20 dB; the source part's
        # windows are added (the background's are already there)
        rng = np.random.default_rng(2000 + seed)
        for i, x in enumerate(d.mono):
            if d.labels[i] == "background":
                continue
            lo, hi = v.get("site_snr", (0.0, 20.0))
            j, snr = int(rng.choice(d.bg)), round(float(rng.uniform(lo, hi)), 1)
            p = piece(f"m{i}_{j}_{snr}", lambda x=x, j=j, snr=snr: mix(x, d.mono[j], snr), 0.5)
            aug.append((i, j, stream([clip_fit[j], p], 0.5)[len(clip_fit[j][0]) :]))
    conds = ["clip", "s10", "s5", "site", "long"]
    conf = {c: np.zeros((3, 3), np.int64) for c in conds}
    wrong: dict[str, int] = {}
    for seed in seeds:
        for va in stratified_folds(d.labels, seed):
            tr = [i for i in range(len(d.mono)) if i not in va]
            use = [(i, f) for i, j, f in aug if i in tr and (j < 0 or j in tr)]
            x = [fitf[i] for i in tr] + [f for _, f in use]
            y = [d.labels[i] for i in tr for _ in fitf[i]]
            y += [d.labels[i] for i, f in use for _ in f]
            xa = np.concatenate(x)
            if v.get("balance"):
                # the augmented classes outnumber background; the HMM filter reads the MLP's
                # posterior as a likelihood only when the classes are balanced in training
                # (acoustic.smooth_step), so each class's rows are repeated up to the largest
                ya = np.array(y)
                n = {c: int((ya == c).sum()) for c in set(y)}
                reps = np.array([round(max(n.values()) / n[c]) for c in y])
                xa, y = np.repeat(xa, reps, axis=0), list(np.repeat(ya, reps))
            models = fit(xa, y, v, seed)
            classes = models[0].classes

            def add(
                cond: str,
                f: Arr,
                truth: list[str],
                name: str = "",
                models: list[Any] = models,
                classes: tuple[str, ...] = classes,
            ) -> None:
                pred = smoother(proba(models, f), v.get("smoother", "d0.5")).argmax(axis=1)
                for t, k in zip(truth, pred, strict=True):
                    conf[cond][CLASSES.index(t), CLASSES.index(classes[int(k)])] += 1
                n = int(sum(classes[int(k)] != t for t, k in zip(truth, pred, strict=True)))
                if name and n:
                    wrong[name] = wrong.get(name, 0) + n

            vb = [i for i in va if d.labels[i] == "background"]
            vt = [i for i in va if d.labels[i] != "background"]
            for i in va:
                add("clip", score[i], [d.labels[i]] * len(score[i]), d.names[i])
            for s in (10, 5):
                for j in vb:
                    add(f"s{s}", score[j], ["background"] * len(score[j]))
                    for i in vt:
                        p = piece(
                            f"s{i}_{j}_{s}",
                            lambda i=i, j=j, s=s: mix(d.mono[i], d.mono[j], s),
                            None,
                        )
                        add(f"s{s}", stream([p], None), [d.labels[i]] * len(p[0]))
                        if s != 10:
                            continue
                        # one site: its background alone, then a source over it (10 dB), for
                        # 10 s (site) and for 60 s (long: the mixture six times over)
                        bg = ["background"] * len(clip_score[j][0])
                        add(
                            "site", stream([clip_score[j], p], None), bg + [d.labels[i]] * len(p[0])
                        )
                        add(
                            "long",
                            stream([clip_score[j]] + [p] * 6, None),
                            bg + [d.labels[i]] * 6 * len(p[0]),
                        )
    cells = " ".join(f"{c} {macro_f1(conf[c]):.3f}" for c in conds)
    top = sorted(wrong.items(), key=lambda kv: -kv[1])[:6]
    return cells + " | wrong: " + ", ".join(f"{k} {n}" for k, n in top)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd/audio")
    ap.add_argument("--cache", default="/tmp/audio_cv_variants")
    ap.add_argument("--variants", default="base")
    ap.add_argument("--seeds", default="0,1,2")
    a = ap.parse_args()
    d = Data(a.data, Path(a.cache))
    seeds = [int(s) for s in a.seeds.split(",")]
    for name in a.variants.split(","):
        print(f"{name:10s} seeds {a.seeds}: {evaluate(d, VARIANTS[name], seeds)}", flush=True)


if __name__ == "__main__":
    main()
