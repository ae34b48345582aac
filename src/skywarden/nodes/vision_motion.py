"""A camera link's motion as class evidence (issue 23, session 16).

Why: the camera node's class is the link's accumulated CNN probabilities
(``vision_detect.TrackSmoother``), i.e. appearance only, and the error budget (session 15,
thermal validation) loses +0.078 F1 on class, mostly aeroplanes named helicopter. How an
object moves across the frame says something appearance does not: an aeroplane crosses
smoothly and steadily, a helicopter hovers or drifts with a steady size, a bird flaps (its
size flickers), a small drone moves erratically.

``features`` turns a link's recent past (causal: the node sees only what it has linked so
far) into a few numbers; ``MotionModel`` is a multinomial logistic model over the four
object classes fitted on them (``fit``: the fit clips' links, each reported detection
labelled by the label box its centre lies in, classes weighted equally), and the link's class
becomes

    argmax_c  log pbar_c + weight * log q_c(m)

where ``pbar`` is the link's CNN class memory renormalised over the object classes and
``q(m)`` the motion model's posterior (class-balanced, so it acts as a likelihood ratio:
a product-of-experts combination, Hinton 2002). ``weight`` 0 is the appearance-only decision.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

# (frame step, centre x, centre y, log width, log height) of one linked detection, frame px
HistEntry = tuple[int, float, float, float, float]

FEATURES = (
    "log_net_speed",  # |last - first centre| per frame, in object sizes
    "straightness",  # net displacement / path length, 0..1
    "log_path_speed",  # path length per frame, in object sizes (jitter included)
    "speed_cv",  # spread / mean of the per-step speeds (steadiness)
    "size_trend",  # log size, last half minus first half (approach / recede)
    "size_flicker",  # spread of step-to-step log-size changes (wingbeat, blob flicker)
)
WINDOW = 50  # linked detections kept per link (2 s at 25 frames/s)
MIN_LEN = 10  # fewer linked detections: no motion evidence yet


def features(hist: Sequence[HistEntry]) -> NDArray[np.float64] | None:
    """The motion features (``FEATURES``) of a link's history, oldest first; None under
    ``MIN_LEN`` entries. Sizes are the geometric mean of width and height, so speeds are in
    object sizes per frame and do not depend on the object's distance or the camera."""
    if len(hist) < MIN_LEN:
        return None
    h = np.asarray(hist, dtype=np.float64)
    t, xy = h[:, 0], h[:, 1:3]
    ls = 0.5 * (h[:, 3] + h[:, 4])
    size = float(np.exp(np.median(ls)))
    span = max(float(t[-1] - t[0]), 1.0)
    steps = np.hypot(*np.diff(xy, axis=0).T)
    dt = np.maximum(np.diff(t), 1.0)
    net = float(np.hypot(*(xy[-1] - xy[0])))
    path = float(steps.sum())
    v = steps / dt
    half = len(ls) // 2
    return np.array(
        [
            np.log(net / span / size + 1e-3),
            net / (path + 1e-6),
            np.log(path / span / size + 1e-3),
            float(v.std() / (v.mean() + 1e-6)),
            float(ls[half:].mean() - ls[:half].mean()),
            float(np.diff(ls).std()),
        ]
    )


@dataclass(frozen=True)
class MotionModel:
    """A multinomial logistic model q(class | motion features) and its weight against the
    CNN's class memory (module docstring). ``classes``: the object classes, in the order of
    ``coef``'s rows."""

    classes: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]
    weight: float

    def log_q(self, f: NDArray[np.float64]) -> NDArray[np.float64]:
        """log q(class | f) over ``classes``."""
        z = (f - np.asarray(self.mean)) / np.asarray(self.scale)
        s = np.asarray(self.coef) @ z + np.asarray(self.intercept)
        s = s - s.max()
        return np.asarray(s - np.log(np.exp(s).sum()), dtype=np.float64)


def decide(
    acc: NDArray[np.float64],
    classes: tuple[str, ...],
    hist: Sequence[HistEntry],
    model: MotionModel | None,
) -> int:
    """The index (into ``classes``) of a link's class: the largest accumulated CNN
    probability over the object classes, weighed with the link's motion when ``model`` is
    given and the link is long enough (module docstring)."""
    bg = classes.index("background")
    obj = [i for i in range(len(classes)) if i != bg]
    a = np.asarray(acc, dtype=np.float64)
    f = None if model is None or model.weight == 0.0 else features(hist)
    if model is None or f is None:
        return obj[int(np.argmax(a[obj]))]
    idx = [classes.index(c) for c in model.classes]
    return idx[weigh(a[idx], f, model)]


def weigh(mem: NDArray[np.float64], f: NDArray[np.float64], model: MotionModel) -> int:
    """The index (into ``model.classes``) of ``argmax log pbar + weight log q(f)``: ``mem``
    the link's CNN class memory over ``model.classes``, renormalised to ``pbar`` (module
    docstring)."""
    pbar = np.maximum(mem, 0.0)
    pbar = pbar / max(float(pbar.sum()), 1e-12)
    return int(np.argmax(np.log(pbar + 1e-6) + model.weight * model.log_q(f)))


def save(model: MotionModel, path: str | Path, how: str) -> None:
    """The model as a small JSON file, with the command that made it (``how``)."""
    body = {
        "made_by": how,
        "features": list(FEATURES),
        "classes": list(model.classes),
        "mean": list(model.mean),
        "scale": list(model.scale),
        "coef": [list(r) for r in model.coef],
        "intercept": list(model.intercept),
        "weight": model.weight,
    }
    Path(path).write_text(json.dumps(body, indent=1) + "\n")


def load(path: str | Path) -> MotionModel:
    d = json.loads(Path(path).read_text())
    if tuple(d["features"]) != FEATURES:
        raise ValueError(f"{path}: features {d['features']} are not {list(FEATURES)}")
    return MotionModel(
        tuple(d["classes"]),
        tuple(float(v) for v in d["mean"]),
        tuple(float(v) for v in d["scale"]),
        tuple(tuple(float(v) for v in r) for r in d["coef"]),
        tuple(float(v) for v in d["intercept"]),
        float(d["weight"]),
    )


def fit(
    x: NDArray[np.float64],
    y: NDArray[np.int64],
    groups: NDArray[np.int64],
    classes: tuple[str, ...],
    weight: float,
    c: float = 1.0,
) -> MotionModel:
    """Multinomial logistic regression (scikit-learn, L2 with inverse strength ``c``) of the
    class index ``y`` (into ``classes``) on the features ``x``; each sample weighted so that
    every class and, within it, every clip (``groups``) counts equally -- a clip contributes
    hundreds of correlated frames, and one long clip must not be the model of its class."""
    from sklearn.linear_model import LogisticRegression

    w = np.zeros(len(y))
    for k in range(len(classes)):
        in_k = y == k
        gs = np.unique(groups[in_k])
        for g in gs:
            m = in_k & (groups == g)
            w[m] = 1.0 / (m.sum() * len(gs))
    w *= len(y) / w.sum()
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-9
    lr = LogisticRegression(C=c, max_iter=2000)
    lr.fit((x - mean) / scale, y, sample_weight=w)
    coef = np.zeros((len(classes), x.shape[1]))
    icpt = np.full(len(classes), -30.0)  # a class absent from the fit is never favoured
    for row, k in enumerate(lr.classes_):
        coef[int(k)] = lr.coef_[row] if len(lr.classes_) > 2 else 0.0
        icpt[int(k)] = lr.intercept_[row] if len(lr.classes_) > 2 else 0.0
    return MotionModel(
        classes,
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(tuple(float(v) for v in r) for r in coef),
        tuple(float(v) for v in icpt),
        weight,
    )
