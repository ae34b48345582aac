"""The microphone node's classifier: drone / helicopter / background for every second of audio.

``classify_audio`` returns one ``SecondClass`` per one-second window; ``format_line`` writes
the evaluation format ``{"t": s, "class": ..., "score": p}`` (one JSON line per second).
The model is a small MLP over ``audio_features.window_features`` shipped as
``weights/acoustic.npz`` (trained by ``skywarden acoustic train``).
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
SMOOTH_DECAY = 0.5


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


def smooth(probs: NDArray[np.float32], decay: float = SMOOTH_DECAY) -> NDArray[np.float32]:
    """Causal evidence accumulation: each second's log-probabilities plus ``decay`` times the
    running sum of the earlier seconds', renormalised. Uses only the past, so a live node
    can apply it as each second arrives."""
    logp = np.log(np.clip(probs, 1e-6, 1.0))
    acc = np.zeros(probs.shape[1], dtype=np.float64)
    out = np.empty_like(probs)
    for i, row in enumerate(logp):
        acc = decay * acc + row
        e = np.exp(acc - acc.max())
        out[i] = e / e.sum()
    return out


def format_line(c: SecondClass) -> str:
    return json.dumps({"t": round(c.t, 3), "class": c.label, "score": round(c.score, 4)})


def write_jsonl(results: list[SecondClass], path: str | Path) -> None:
    Path(path).write_text("".join(format_line(c) + "\n" for c in results))
