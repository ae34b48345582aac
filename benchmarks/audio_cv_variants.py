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
  clip at 10/5 dB clip signal-to-background ratio, with the held-out backgrounds alone.

Prints macro F1 per condition and the clips with the most wrong seconds (summed over seeds).
Window features are cached in ``--cache``, keyed by the audio_features.py source and this
file's feature functions.
"""

from __future__ import annotations

import argparse
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


GROUPS: dict[str, Callable[[Arr], Arr]] = {
    "base": lambda x: window_features(x.astype(np.float32)),
    "flat": band_shape,
    "envper": envelope_periodicity,
    "ceppitch": cepstral_pitch,
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
        super().__init__(data_dir, cache, salt=Path(__file__).read_bytes())

    def group_feats(self, key: str, make: Callable[[], Arr], hop: float | None, group: str) -> Arr:
        """One feature group (``GROUPS``) of every 1 s window (``windows``) of ``make()``."""

        def compute() -> Arr:
            from skywarden.nodes.audio_features import Audio

            x = make().astype(np.float32)
            wins = windows(Audio(x[:, None], SAMPLE_RATE), 1.0, hop)
            return np.stack([GROUPS[group](w) for _, w in wins])

        return self.cached(f"{key}|{hop}|{group}", compute)

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
    fitf = [d.get(f"c{i}", lambda x=x: x, 0.5, groups) for i, x in enumerate(d.mono)]
    score = [d.get(f"c{i}", lambda x=x: x, None, groups) for i, x in enumerate(d.mono)]
    aug: list[tuple[int, Arr]] = []
    for r in v.get("pitch", ()):
        for i, x in enumerate(d.mono):
            aug.append((i, d.get(f"p{i}_{r}", lambda x=x, r=r: resample_by(x, r), 0.5, groups)))
    conds = ["clip", "s10", "s5"]
    conf = {c: np.zeros((3, 3), np.int64) for c in conds}
    wrong: dict[str, int] = {}
    for seed in seeds:
        for va in stratified_folds(d.labels, seed):
            tr = [i for i in range(len(d.mono)) if i not in va]
            x = [fitf[i] for i in tr] + [f for i, f in aug if i in tr]
            y = [d.labels[i] for i in tr for _ in fitf[i]]
            y += [d.labels[i] for i, f in aug if i in tr for _ in f]
            models = fit(np.concatenate(x), y, v, seed)
            classes = models[0].classes

            def add(
                cond: str,
                f: Arr,
                label: str,
                name: str = "",
                models: list[Any] = models,
                classes: tuple[str, ...] = classes,
            ) -> None:
                pred = smoother(proba(models, f), v.get("smoother", "d0.5")).argmax(axis=1)
                for k in pred:
                    conf[cond][CLASSES.index(label), CLASSES.index(classes[int(k)])] += 1
                n = int(sum(classes[int(k)] != label for k in pred))
                if name and n:
                    wrong[name] = wrong.get(name, 0) + n

            vb = [i for i in va if d.labels[i] == "background"]
            vt = [i for i in va if d.labels[i] != "background"]
            for i in va:
                add("clip", score[i], d.labels[i], d.names[i])
            for s in (10, 5):
                for j in vb:
                    add(f"s{s}", score[j], "background")
                    for i in vt:
                        f = d.get(
                            f"s{i}_{j}_{s}",
                            lambda i=i, j=j, s=s: mix(d.mono[i], d.mono[j], s),
                            None,
                            groups,
                        )
                        add(f"s{s}", f, d.labels[i])
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
