"""The camera detector's classifier: a small CNN over image chips, run with onnxruntime.

Why chips and not a whole-frame detector: the contrast-blob proposals of
``vision_detect.candidates`` already find almost every small object in sky at a few
milliseconds a frame; what the earlier numpy MLP on 12x12 patches lacked was the *look* of
the object (wings, rotor, fuselage) and a good box. The CNN sees, per candidate, two
``CHIP`` x ``CHIP`` views centred on it -- the candidate at working-scale pixels 1:1, and a
``CONTEXT``-pixel neighbourhood shrunk to the same size -- both normalised by the context's
median and spread, plus four scalars (log width, log height, log contrast, context spread).
It outputs class logits (background / aeroplane / bird / drone / helicopter) and a box
(centre offset in units of ``CHIP``, log width, log height, working-scale pixels).

Weights: ``weights/vision_{ir,visible}.onnx`` (trained with torch by ``vision_cnn_train``;
torch is a training-only extra, inference needs onnxruntime). One intra-op thread: a camera
stream gets one core.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.mlp import WEIGHTS_DIR

CHIP = 32
CONTEXT = 96
N_EXTRA = 4
CLASSES = ("background", "aeroplane", "bird", "drone", "helicopter")


@dataclass(frozen=True)
class ChipCandidate:
    """What ``chips`` needs of a proposal (``vision_detect.Candidate`` satisfies it)."""

    cx: float
    cy: float
    w: float
    h: float
    contrast: float


def chips(
    gray: NDArray[np.float32], cands: list[Any]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(N, 2, CHIP, CHIP) views and (N, N_EXTRA) scalars of candidates in a working-scale
    grayscale frame; the frame is reflected at its borders so edge objects get whole chips."""
    import cv2

    n = len(cands)
    x = np.empty((n, 2, CHIP, CHIP), dtype=np.float32)
    e = np.empty((n, N_EXTRA), dtype=np.float32)
    if n == 0:
        return x, e
    pad = CONTEXT // 2 + 1
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    h0, h1 = CHIP // 2, CONTEXT // 2
    for j, c in enumerate(cands):
        cx, cy = round(c.cx) + pad, round(c.cy) + pad
        x[j, 0] = padded[cy - h0 : cy + h0, cx - h0 : cx + h0]
        big = padded[cy - h1 : cy + h1, cx - h1 : cx + h1]
        x[j, 1] = cv2.resize(big, (CHIP, CHIP), interpolation=cv2.INTER_AREA)
    # each chip normalised by its context's median and spread, all chips in one reduction
    # (row by row the same sums as chip by chip: a C-contiguous row of CHIP * CHIP floats)
    ctx = x[:, 1].reshape(n, CHIP * CHIP)
    med = np.median(ctx, axis=1).astype(np.float32)
    spread = ctx.std(axis=1) + np.float32(2.0)
    x -= med[:, None, None, None]
    x /= spread[:, None, None, None]
    e[:, 0] = np.log1p([c.w for c in cands])
    e[:, 1] = np.log1p([c.h for c in cands])
    e[:, 2] = np.log1p([c.contrast for c in cands])
    e[:, 3] = spread / np.float32(64.0)
    return x, e


class CnnModel:
    """One sensor type's chip classifier and box regressor (an ONNX graph with inputs
    ``chips`` and ``extra``, outputs ``logits`` and ``box``)."""

    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        self.classes = tuple(meta.get("classes", ",".join(CLASSES)).split(","))
        self.path = Path(path)

    def run(
        self, x: NDArray[np.float32], e: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """(class probabilities (N, 5), box regression (N, 4)) of chips from ``chips``."""
        if len(x) == 0:
            return np.zeros((0, len(self.classes)), np.float32), np.zeros((0, 4), np.float32)
        logits, box = self.session.run(["logits", "box"], {"chips": x, "extra": e})
        z = np.asarray(logits, dtype=np.float32)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True), np.asarray(box, dtype=np.float32)


def decode_box(c: Any, reg: NDArray[np.float32]) -> tuple[float, float, float, float]:
    """Regression outputs (dx, dy in units of CHIP, log w, log h) to an (x, y, w, h) box at
    working scale."""
    cx = c.cx + float(reg[0]) * CHIP
    cy = c.cy + float(reg[1]) * CHIP
    w, h = float(np.exp(reg[2])), float(np.exp(reg[3]))
    return (cx - w / 2.0, cy - h / 2.0, w, h)


def weights_path(sensor: str) -> Path:
    return WEIGHTS_DIR / f"vision_{sensor}.onnx"


@lru_cache(maxsize=4)
def load_cnn(sensor: str) -> CnnModel:
    return CnnModel(weights_path(sensor))
