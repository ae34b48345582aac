"""Where the microphone classifier fails, on the training clips only (issue 23, session 10).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/audio_robustness.py \
        [--variants ref,nolevel,...] [--smoothers d0.5,d0.8,h0.03:1] [--seeds 0,1,2]

Never reads a test clip (``acoustic_train.clips(..., test=False)``). For every variant (a
feature set, augmentation or model; ``VARIANTS``) and seed, the 30 training clips are dealt
into 5 class-stratified folds (each class's clips shuffled by the seed, dealt round robin:
every fold holds 2 clips of each class, which ``GroupKFold`` in ``acoustic_train`` does not
promise) and the model is fitted on 4 folds. Held-out clips are scored as the node runs
(back-to-back seconds, causal smoothing ``dD`` = ``decay_smooth`` with decay D, or
``hE:T`` = an HMM forward filter with switch probability E per second and likelihood
exponent T; ``h0.03:1`` is the shipped ``acoustic.smooth``) under these conditions:

- ``clip``: each held-out clip alone, as ``cross_validate`` scores it (macro F1);
- ``onset``: a held-out background clip followed by a held-out drone/helicopter clip of the
  same fold and the reverse (macro F1 over the 20 s), and ``lat``, the mean seconds after the
  change until the new class is first output. A clip alone starts with an empty memory, so
  it never charges a long smoothing memory for the seconds it holds on to the last class;
- ``g-10``/``g-20``: each held-out clip 10/20 dB quieter (the level feature is the only
  absolute one);
- ``s20``/``s10``/``s5``: each held-out drone/helicopter clip mixed into each held-out
  background clip at 20/10/5 dB clip signal-to-background ratio, with the held-out
  backgrounds alone (a far source over the site's own sound).

Features are cached in ``--cache`` (a few minutes to build on one core). Prints one line
per variant and smoother, and the clips with the most wrong seconds (summed over seeds).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skywarden.nodes.acoustic import CLASSES
from skywarden.nodes.acoustic_train import clips, macro_f1, stratified_folds
from skywarden.nodes.audio_features import SAMPLE_RATE, read_wav, window_features
from skywarden.nodes.mlp import Mlp

Arr = np.ndarray[Any, Any]
N_FEAT = 175
GROUPS = {  # window_features layout (175 values; before session 10 the cepstra were 168-193)
    "mean": range(0, 40),
    "std": range(40, 80),
    "p90": range(80, 120),
    "flux": range(120, 160),
    "extra": range(160, 164),  # level, envelope spread, modulation rate and ratio
    "tonal": range(164, 168),
    "harm": range(168, 175),
}


def rotor_modulation(x: Arr) -> Arr:
    """Tried and not kept: blade-slap periodicity. Per band (50-500 Hz, 0.5-2, 2-8 kHz) the
    log-energy envelope at 125 Hz; its modulation peak between 2 and 40 Hz in dB above the
    median; the peak of the bands' normalised spectra summed, its log rate, and the spread of
    the bands' peak rates. (Training helicopter clips: 12-29 Hz, 13-20 dB, in 9 of 10.)"""
    n, hop = 256, 128
    idx = np.arange(n)[None, :] + hop * np.arange(1 + (x.size - n) // hop)[:, None]
    power = np.abs(np.fft.rfft(x[idx] * np.hanning(n), axis=1)) ** 2
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    mod = np.fft.rfftfreq(idx.shape[0], hop / SAMPLE_RATE)
    band = (mod >= 2.0) & (mod <= 40.0)
    proms, peaks, total = [], [], np.zeros(int(band.sum()))
    for lo, hi in ((50.0, 500.0), (500.0, 2000.0), (2000.0, 8000.0)):
        env = np.log(power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) + 1e-12)
        spec = (np.abs(np.fft.rfft((env - env.mean()) * np.hanning(env.size))) ** 2)[band]
        spec = spec + 1e-12
        proms.append(10.0 * np.log10(spec.max() / np.median(spec)))
        peaks.append(float(mod[band][np.argmax(spec)]))
        total += spec / spec.sum()
    k = int(np.argmax(total))
    top = 10.0 * np.log10(total[k] / np.median(total))
    return np.array([*proms, top, np.log(mod[band][k]), np.std(peaks)], dtype=np.float32)


def absorb(x: Arr, km: float) -> Arr:
    """Air absorption of a source ``km`` further away: about 5 dB/km at 1 kHz, growing as
    f^1.5 (the order of magnitude of ISO 9613-1 at 20 C, 70 % humidity)."""
    f = np.fft.rfftfreq(x.size, 1.0 / SAMPLE_RATE)
    return np.fft.irfft(np.fft.rfft(x) * 10 ** (-5.0 * km * (f / 1000.0) ** 1.5 / 20.0), x.size)


def mix(target: Arr, back: Arr, snr_db: float, shift: int = 0) -> Arr:
    """``target`` scaled so its mean power is ``snr_db`` above ``back``'s (rolled by
    ``shift`` samples), plus ``back``."""
    b = np.resize(np.roll(back, shift), target.size)
    g = np.sqrt(np.mean(b**2) * 10 ** (snr_db / 10.0) / np.mean(target**2))
    return np.asarray(g * target + b)


class Data:
    """The training clips' audio and cached window features (``audio_cv_variants.Data``
    computes other feature groups over the same cache)."""

    def __init__(self, data_dir: str, cache: Path, salt: bytes = b"") -> None:
        items = clips(data_dir, test=False)
        self.names = [p.stem for p, _ in items]
        self.labels = [lab for _, lab in items]
        self.mono = [read_wav(p).mono.astype(np.float64) for p, _ in items]
        self.bg = [i for i, lab in enumerate(self.labels) if lab == "background"]
        import skywarden.nodes.audio_features as af

        # features of another audio_features.py (or of another ``salt``: the caller's own
        # feature functions) never come out of the cache
        src = Path(af.__file__).read_bytes() + salt
        self.cache = cache / hashlib.md5(src).hexdigest()[:12]
        self.cache.mkdir(parents=True, exist_ok=True)

    def cached(self, tag: str, compute: Callable[[], Arr]) -> Arr:
        """``compute()``, kept in the cache under ``tag``."""
        f = self.cache / (hashlib.md5(tag.encode()).hexdigest() + ".pkl")
        if f.exists():
            out: Arr = pickle.loads(f.read_bytes())
            return out
        out = compute()
        f.write_bytes(pickle.dumps(out))
        return out

    def feats(self, key: str, make: Callable[[], Arr], hop: float | None, extra: bool) -> Arr:
        """Features of every 1 s window (``hop`` apart; back to back when None) of ``make()``."""

        def compute() -> Arr:
            x = make().astype(np.float32)
            size, step = SAMPLE_RATE, round((hop or 1.0) * SAMPLE_RATE)
            rows = []
            for s in range(0, x.size - size + 1, step):
                w = x[s : s + size]
                v = window_features(w)
                rows.append(np.concatenate([v, rotor_modulation(w)]) if extra else v)
            return np.stack(rows)

        return self.cached(f"{key}|{hop}|{extra}", compute)


def fit(x: Arr, y: list[str], v: dict[str, Any], seed: int) -> Mlp:
    """Standardise, then an MLP (``ens`` of them, logits averaged: still one ``Mlp``) or a
    multinomial logistic regression (an ``Mlp`` without a hidden layer)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(x)
    z = sc.transform(x)
    mean, scale = np.asarray(sc.mean_, np.float32), np.asarray(sc.scale_, np.float32)
    if "logreg" in v:
        m = LogisticRegression(C=v["logreg"], max_iter=5000).fit(z, y)
        layer = (m.coef_.T.astype(np.float32), m.intercept_.astype(np.float32))
        return Mlp(mean, scale, (layer,), tuple(str(c) for c in m.classes_))
    n = v.get("ens", 1)
    nets = [
        MLPClassifier(
            (v.get("hidden", 16),),
            alpha=v.get("alpha", 3.0),
            max_iter=2000,
            random_state=seed * 100 + e,
        ).fit(z, y)
        for e in range(n)
    ]
    w0 = np.concatenate([m.coefs_[0] for m in nets], axis=1).astype(np.float32)
    b0 = np.concatenate([m.intercepts_[0] for m in nets]).astype(np.float32)
    w1 = (np.concatenate([m.coefs_[1] for m in nets], axis=0) / n).astype(np.float32)
    b1 = np.mean([m.intercepts_[1] for m in nets], axis=0).astype(np.float32)
    return Mlp(mean, scale, ((w0, b0), (w1, b1)), tuple(str(c) for c in nets[0].classes_))


def decay_smooth(probs: Arr, decay: float) -> Arr:
    """Evidence accumulation, the shipped smoother until session 11: each second's
    log-probabilities plus ``decay`` times the running sum of the earlier seconds',
    renormalised."""
    logp = np.log(np.clip(probs, 1e-6, 1.0))
    acc, out = np.zeros(probs.shape[1]), np.empty_like(probs)
    for i, row in enumerate(logp):
        acc = decay * acc + row
        e = np.exp(acc - acc.max())
        out[i] = e / e.sum()
    return out


def smoother(probs: Arr, name: str) -> Arr:
    """``dD``: ``decay_smooth`` with decay D; ``hE:T``: an HMM forward filter, switch
    probability E per second, likelihood exponent T (``h0.03:1`` is ``acoustic.smooth``)."""
    if name.startswith("d"):
        return decay_smooth(probs, float(name[1:]))
    eps, tau = (float(s) for s in name[1:].split(":"))
    k = probs.shape[1]
    b, out = np.full(k, 1.0 / k), np.empty_like(probs)
    for i, p in enumerate(probs):
        prior = (1.0 - eps) * b + eps / (k - 1) * (1.0 - b)  # switch prob eps per second
        b = prior * np.clip(p, 1e-6, 1.0) ** tau
        b /= b.sum()
        out[i] = b
    return out


VARIANTS: dict[str, dict[str, Any]] = {
    "ref": {},  # 16 units, alpha 3 (shipped before session 10), 0.5 s hop fit windows
    "nolevel": {"drop": ["level"]},
    "modulation": {"extra": True},
    "hop0.25": {"hop": 0.25},
    "gain10": {"gain": 10.0},  # every clip once more at a random gain within +-10 dB
    "mix5_20": {"mix": (2, 5.0, 20.0, 0.0)},  # each clip into 2 other backgrounds
    "mix0_20": {"mix": (2, 0.0, 20.0, 0.0)},
    "dist10_30": {"mix": (2, 10.0, 30.0, 1.0)},  # + air absorption of up to 1 km
    "ens5": {"ens": 5},
    "logreg0.1": {"logreg": 0.1},
    "h32a1": {"hidden": 32, "alpha": 1.0},
    "h8a1": {"hidden": 8, "alpha": 1.0},  # session 10's shipped width and penalty
    **{f"drop_{g}": {"drop": [g]} for g in GROUPS},
}


def augment(d: Data, v: dict[str, Any], seed: int = 0) -> list[tuple[int, int, Arr]]:
    """(clip, background clip used or -1, fit features) of the variant's extra windows."""
    hop, extra, out = v.get("hop", 0.5), v.get("extra", False), []
    rng = np.random.default_rng(seed)
    if "gain" in v:
        for i, x in enumerate(d.mono):
            g = float(rng.uniform(-v["gain"], v["gain"]))
            out.append(
                (i, -1, d.feats(f"g{i}_{g:.3f}", lambda x=x, g=g: x * 10 ** (g / 20), hop, extra))
            )
    if "mix" in v:
        n, lo, hi, km = v["mix"]
        for i, x in enumerate(d.mono):
            for j in rng.choice([j for j in d.bg if j != i], n, replace=False):
                snr, sh, dk = rng.uniform(lo, hi), int(rng.integers(0, x.size)), rng.uniform(0, km)
                key = f"m{i}_{j}_{snr:.3f}_{sh}_{dk:.3f}"

                def make(
                    x: Arr = x, j: int = int(j), snr: float = snr, sh: int = sh, dk: float = dk
                ) -> Arr:
                    return mix(absorb(x, dk), d.mono[j], snr, sh)

                out.append((i, int(j), d.feats(key, make, hop, extra)))
    return out


def evaluate(d: Data, v: dict[str, Any], smoothers: list[str], seeds: list[int]) -> None:
    extra = v.get("extra", False)
    keep = np.ones(N_FEAT + 6 * extra, dtype=bool)
    for g in v.get("drop", []):
        keep[[160] if g == "level" else list(GROUPS[g])] = False
    hop = v.get("hop", 0.5)
    fitf = [d.feats(f"c{i}", lambda x=x: x, hop, extra) for i, x in enumerate(d.mono)]
    score = [d.feats(f"c{i}", lambda x=x: x, None, extra) for i, x in enumerate(d.mono)]
    aug = augment(d, v)
    conds = ["clip", "onset", "g-10", "g-20", "s20", "s10", "s5"]
    conf = {s: {c: np.zeros((3, 3), np.int64) for c in conds} for s in smoothers}
    lat: dict[str, list[int]] = {s: [] for s in smoothers}
    wrong: dict[str, int] = {}
    for seed in seeds:
        for va in stratified_folds(d.labels, seed):
            tr = [i for i in range(len(d.mono)) if i not in va]
            x = [fitf[i] for i in tr] + [f for i, j, f in aug if i in tr and (j < 0 or j in tr)]
            y = [d.labels[i] for i in tr for _ in fitf[i]]
            y += [d.labels[i] for i, j, f in aug if i in tr and (j < 0 or j in tr) for _ in f]
            model = fit(np.concatenate(x)[:, keep], y, v, seed)

            def proba(f: Arr, m: Mlp = model) -> Arr:
                return np.asarray(m.proba(f[:, keep]))

            vb = [i for i in va if d.labels[i] == "background"]
            vt = [i for i in va if d.labels[i] != "background"]
            runs: list[tuple[str, Arr, list[str], int]] = []  # condition, probs, truth, change
            for i in va:
                p = proba(score[i])
                runs.append(("clip", p, [d.labels[i]] * len(p), -1))
                for g in (-10, -20):
                    f = d.feats(
                        f"c{i}_{g}", lambda i=i, g=g: d.mono[i] * 10 ** (g / 20), None, extra
                    )
                    runs.append((f"g{g}", proba(f), [d.labels[i]] * len(f), -1))
            for s in (20, 10, 5):
                for j in vb:
                    runs.append((f"s{s}", proba(score[j]), ["background"] * len(score[j]), -1))
                    for i in vt:
                        f = d.feats(
                            f"s{i}_{j}_{s}",
                            lambda i=i, j=j, s=s: mix(d.mono[i], d.mono[j], s),
                            None,
                            extra,
                        )
                        runs.append((f"s{s}", proba(f), [d.labels[i]] * len(f), -1))
            for i in vt:
                for j in vb:
                    for a, b in ((j, i), (i, j)):
                        p = np.concatenate([proba(score[a]), proba(score[b])])
                        truth = [d.labels[a]] * len(score[a]) + [d.labels[b]] * len(score[b])
                        runs.append(("onset", p, truth, len(score[a])))
            for sm in smoothers:
                for cond, p, truth, change in runs:
                    pred = [model.classes[int(k)] for k in smoother(p, sm).argmax(axis=1)]
                    for t, c in zip(truth, pred, strict=True):
                        conf[sm][cond][CLASSES.index(t), CLASSES.index(c)] += 1
                    if cond == "onset":
                        after = pred[change:]
                        lat[sm].append(after.index(truth[-1]) if truth[-1] in after else len(after))
            for i in va:  # wrong seconds per clip, first smoother
                pred = smoother(proba(score[i]), smoothers[0]).argmax(axis=1)
                n = sum(model.classes[int(k)] != d.labels[i] for k in pred)
                if n:
                    wrong[d.names[i]] = wrong.get(d.names[i], 0) + int(n)
    for sm in smoothers:
        cells = " ".join(f"{c} {macro_f1(conf[sm][c]):.3f}" for c in conds)
        print(f"{sm:8s} {cells} lat {np.mean(lat[sm]):.2f}s", flush=True)
    top = sorted(wrong.items(), key=lambda kv: -kv[1])[:6]
    print("  wrong seconds (first smoother, all seeds):", ", ".join(f"{k} {n}" for k, n in top))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd/audio")
    ap.add_argument("--cache", default="/tmp/audio_robustness")
    ap.add_argument("--variants", default="ref")
    ap.add_argument("--smoothers", default="d0.5")
    ap.add_argument("--seeds", default="0,1,2")
    a = ap.parse_args()
    d = Data(a.data, Path(a.cache))
    for name in a.variants.split(","):
        print(f"== {name} (seeds {a.seeds})", flush=True)
        evaluate(d, VARIANTS[name], a.smoothers.split(","), [int(s) for s in a.seeds.split(",")])


if __name__ == "__main__":
    main()
