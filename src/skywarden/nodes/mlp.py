"""A small multi-layer perceptron evaluated with numpy: the shipped models' inference.

Weights live in an ``.npz`` next to this module: ``mean``/``scale`` (input standardisation),
``W0, b0, W1, b1, ...`` (ReLU between layers, softmax at the end) and ``classes`` (the output
names). Training happens elsewhere (scikit-learn, the ``train`` extra); inference needs numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

WEIGHTS_DIR = Path(__file__).with_name("weights")


@dataclass(frozen=True)
class Mlp:
    mean: NDArray[np.float32]
    scale: NDArray[np.float32]
    layers: tuple[tuple[NDArray[np.float32], NDArray[np.float32]], ...]
    classes: tuple[str, ...]

    @classmethod
    def load(cls, path: str | Path) -> Mlp:
        with np.load(str(path), allow_pickle=False) as z:
            n = sum(1 for k in z.files if k.startswith("W"))
            layers = tuple(
                (z[f"W{i}"].astype(np.float32), z[f"b{i}"].astype(np.float32)) for i in range(n)
            )
            return cls(
                z["mean"].astype(np.float32),
                z["scale"].astype(np.float32),
                layers,
                tuple(str(c) for c in z["classes"]),
            )

    def save(self, path: str | Path) -> None:
        arrays: dict[str, NDArray[np.generic]] = {"mean": self.mean, "scale": self.scale}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"W{i}"] = w
            arrays[f"b{i}"] = b
        arrays["classes"] = np.array(self.classes)
        np.savez_compressed(str(path), **arrays)  # type: ignore[arg-type]

    def proba(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        """Class probabilities, shape (n, len(classes)), for features of shape (n, d)."""
        h = (np.atleast_2d(x).astype(np.float32) - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        h = h - h.max(axis=1, keepdims=True)
        e = np.exp(h)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float32)
