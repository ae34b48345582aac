"""The microphone node's classifier: drone / helicopter / background for every second of audio.

``classify_audio`` returns one ``SecondClass`` per one-second window; ``format_line`` writes
the evaluation format ``{"t": s, "class": ..., "score": p}`` (one JSON line per second).
The model is a small MLP over ``audio_features.window_features`` shipped as
``weights/acoustic.npz`` (trained by ``skywarden acoustic train``), followed by a causal
HMM filter over the seconds (``smooth``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.audio_features import Audio, window_features, windows
from skywarden.nodes.mlp import WEIGHTS_DIR, Mlp

CLASSES = ("drone", "helicopter", "background")
DEFAULT_WEIGHTS = WEIGHTS_DIR / "acoustic.npz"
SWITCH_PER_S = 0.03  # chosen on the training clips (docs/vision.md, sessions 10-11, audio)


@dataclass(frozen=True)
class SecondClass:
    t: float
    label: str
    score: float
    probs: tuple[float, ...]


@lru_cache(maxsize=4)
def load_model(path: str = str(DEFAULT_WEIGHTS)) -> Mlp:
    model = Mlp.load(path)
    if set(model.classes) != set(CLASSES):
        raise ValueError(f"{path}: classes {model.classes}, expected {CLASSES}")
    return model


def classify_audio(audio: Audio, model: Mlp | None = None) -> list[SecondClass]:
    """One decision per one-second window of ``audio``."""
    model = model or load_model()
    wins = windows(audio, 1.0)
    if not wins:
        return []
    feats = np.stack([window_features(x) for _, x in wins])
    probs = smooth(model.proba(feats))
    out = []
    for (t, _), p in zip(wins, probs, strict=True):
        k = int(np.argmax(p))
        out.append(SecondClass(t, model.classes[k], float(p[k]), tuple(float(v) for v in p)))
    return out


def smooth_step(
    belief: NDArray[np.float64] | None, probs: NDArray[np.float32], switch: float = SWITCH_PER_S
) -> NDArray[np.float64]:
    """One second of the forward filter of a hidden Markov chain over the classes (Rabiner
    1989, eq. 20): the class stays with probability ``1 - switch`` per second and otherwise
    moves to one of the others, equally likely; this second's classifier output is the
    likelihood. ``belief`` is the last second's filtered probabilities (None: uniform).

    The classifier's posterior stands in for the likelihood p(window | class) because the
    training windows are balanced across classes (10 clips each): p(c | x) / p(c) is then
    p(x | c) up to a factor common to all classes, which the normalisation removes."""
    k = probs.size
    b = np.full(k, 1.0 / k) if belief is None else belief
    # predicted: P(c_t = i) = (1 - e) b_i + e / (k - 1) (1 - b_i)
    prior = (1.0 - switch) * b + switch / (k - 1) * (1.0 - b)
    # update: posterior proportional to prior times likelihood
    post = prior * np.clip(probs.astype(np.float64), 1e-6, 1.0)
    return np.asarray(post / post.sum())


def smooth(probs: NDArray[np.float32], switch: float = SWITCH_PER_S) -> NDArray[np.float32]:
    """``smooth_step`` over consecutive seconds. Uses only the past, so a live node applies
    it as each second arrives (``acoustic_node.StreamClassifier``).

    Until session 11 this was evidence accumulation with a decay of 0.5 per second (the
    running sum of log-probabilities). The HMM filter scored above it on the training clips'
    cross-validation, clip alone, clip mixed into another site's background and at a
    background-to-source change alike (docs/vision.md, sessions 10 and 11, audio)."""
    out = np.empty_like(probs)
    b: NDArray[np.float64] | None = None
    for i, row in enumerate(probs):
        b = smooth_step(b, row, switch)
        out[i] = b
    return out


def format_line(c: SecondClass) -> str:
    return json.dumps({"t": round(c.t, 3), "class": c.label, "score": round(c.score, 4)})


def write_jsonl(results: list[SecondClass], path: str | Path) -> None:
    Path(path).write_text("".join(format_line(c) + "\n" for c in results))
