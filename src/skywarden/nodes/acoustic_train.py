"""Training and scoring of the acoustic classifier on the drone-detection dataset's audio.

``train`` reads ``DIR/{DRONE,HELICOPTER,BACKGROUND}_NNN.wav``, keeps the training clips of the
fixed split (``nodes.split``), picks the hidden width by 5-fold cross-validation grouped by
clip, fits a scikit-learn MLP and writes its weights as an ``Mlp`` npz. ``evaluate`` classifies
the test clips one second at a time and returns per-class precision, recall and F1.
Needs the ``train`` extra (scikit-learn) for ``train`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.acoustic import CLASSES, classify_audio
from skywarden.nodes.audio_features import read_wav, window_features, windows
from skywarden.nodes.mlp import Mlp
from skywarden.nodes.split import clip_parts, is_test_clip


def clips(data_dir: str | Path, test: bool) -> list[tuple[Path, str]]:
    """(path, class) of the dataset's audio clips on one side of the split."""
    out = []
    for p in sorted(Path(data_dir).glob("*.wav")):
        _, name, _ = clip_parts(p)
        label = name.lower()
        if label in CLASSES and is_test_clip(p) == test:
            out.append((p, label))
    return out


def features(items: Sequence[tuple[Path, str]]) -> tuple[NDArray[np.float32], list[str], list[int]]:
    xs, ys, groups = [], [], []
    for g, (path, label) in enumerate(items):
        for _, seg in windows(read_wav(path), 1.0, 0.5):
            xs.append(window_features(seg))
            ys.append(label)
            groups.append(g)
    return np.stack(xs), ys, groups


def _fit(x: NDArray[np.float32], y: Sequence[str], hidden: int, seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(
        StandardScaler(),
        MLPClassifier((hidden,), alpha=1e-2, max_iter=2000, random_state=seed),
    )
    clf.fit(x, list(y))
    return clf


def _to_mlp(clf: Any) -> Mlp:
    scaler, mlp = clf.steps[0][1], clf.steps[1][1]
    layers = tuple(
        (np.asarray(w, np.float32), np.asarray(b, np.float32))
        for w, b in zip(mlp.coefs_, mlp.intercepts_, strict=True)
    )
    classes = tuple(str(c) for c in mlp.classes_)
    if len(classes) == 2:  # pragma: no cover - the dataset always has three classes
        raise ValueError("binary MLP output is not supported")
    return Mlp(
        np.asarray(scaler.mean_, np.float32),
        np.asarray(scaler.scale_, np.float32),
        layers,
        classes,
    )


def train(data_dir: str | Path, out: str | Path, seed: int = 0) -> dict[str, float]:
    """Fit on the training clips and save; returns the cross-validated macro F1 per width."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold

    x, y, groups = features(clips(data_dir, test=False))
    ya = np.array(y)
    scores: dict[str, float] = {}
    for hidden in (8, 16, 32):
        pred = np.empty_like(ya)
        for tr, va in GroupKFold(5).split(x, ya, groups):
            pred[va] = _fit(x[tr], ya[tr], hidden, seed).predict(x[va])
        scores[str(hidden)] = float(f1_score(ya, pred, average="macro"))
    best = int(max(scores, key=lambda k: scores[k]))
    _to_mlp(_fit(x, y, best, seed)).save(out)
    scores["chosen"] = float(best)
    return scores


def per_class_f1(truth: Sequence[str], pred: Sequence[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    t, p = np.array(truth), np.array(pred)
    for c in CLASSES:
        tp = int(((t == c) & (p == c)).sum())
        fp = int(((t != c) & (p == c)).sum())
        fn = int(((t == c) & (p != c)).sum())
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[c] = {"precision": prec, "recall": rec, "f1": f1, "n": int((t == c).sum())}
    return out


def evaluate(data_dir: str | Path, model: Mlp | None = None) -> dict[str, dict[str, float]]:
    """Per-class precision/recall/F1 over the test clips' one-second windows."""
    truth, pred = [], []
    for path, label in clips(data_dir, test=True):
        for c in classify_audio(read_wav(path), model):
            truth.append(label)
            pred.append(c.label)
    return per_class_f1(truth, pred)
