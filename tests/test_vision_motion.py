"""A camera link's motion weighed into its class (``nodes/vision_motion.py``): the features
say what the motion is (straight and steady against hovering and jittery), the decision is
the CNN memory's without a model, and the smoother's reported class follows the motion model
when its weight outweighs a small appearance margin."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from skywarden.nodes.vision_cnn import CLASSES
from skywarden.nodes.vision_detect import PARAMS, Detection, TrackSmoother, smoother
from skywarden.nodes.vision_motion import (
    FEATURES,
    MIN_LEN,
    MotionModel,
    decide,
    features,
    fit,
    load,
    save,
)

OBJ = ("aeroplane", "bird", "drone", "helicopter")


def _straight(n: int) -> list[tuple[int, float, float, float, float]]:
    """A 10-px object crossing at 2 px a frame."""
    return [(t, 10.0 + 2.0 * t, 50.0, np.log(10.0), np.log(10.0)) for t in range(n)]


def _hover(n: int) -> list[tuple[int, float, float, float, float]]:
    """A 10-px object jittering +-1 px about a point."""
    rng = np.random.default_rng(3)
    return [
        (t, 50.0 + rng.uniform(-1, 1), 50.0 + rng.uniform(-1, 1), np.log(10.0), np.log(10.0))
        for t in range(n)
    ]


def _fast_straight_is_aeroplane(weight: float) -> MotionModel:
    """A hand-made model: straightness (feature 1) for aeroplane, against helicopter."""
    coef = [[0.0] * len(FEATURES) for _ in OBJ]
    coef[0][1] = 3.0
    coef[3][1] = -3.0
    mean = [0.0] * len(FEATURES)
    mean[1] = 0.5
    return MotionModel(
        OBJ,
        tuple(mean),
        tuple([1.0] * len(FEATURES)),
        tuple(tuple(r) for r in coef),
        (0.0, -5.0, -5.0, 0.0),
        weight,
    )


def test_features_tell_a_straight_steady_crossing_from_a_hover() -> None:
    assert features(_straight(MIN_LEN - 1)) is None
    s, h = features(_straight(30)), features(_hover(30))
    assert s is not None and h is not None
    i = FEATURES.index
    assert s[i("straightness")] == pytest.approx(1.0)
    assert s[i("speed_cv")] == pytest.approx(0.0, abs=1e-6)
    assert s[i("log_net_speed")] == pytest.approx(np.log(0.2 + 1e-3))  # 2 px / 10 px a frame
    assert h[i("straightness")] < 0.3
    assert h[i("log_net_speed")] < s[i("log_net_speed")] - 2.0


def test_decide_without_a_model_is_the_cnn_memory_and_with_one_weighs_motion() -> None:
    acc = np.array([5.0, 4.0, 0.1, 0.1, 5.0])  # background high, helicopter just ahead
    assert CLASSES[decide(acc, CLASSES, _straight(30), None)] == "helicopter"
    assert CLASSES[decide(acc, CLASSES, _straight(30), _fast_straight_is_aeroplane(0.0))] == (
        "helicopter"
    )
    m = _fast_straight_is_aeroplane(1.0)
    assert CLASSES[decide(acc, CLASSES, _straight(30), m)] == "aeroplane"
    assert CLASSES[decide(acc, CLASSES, _hover(30), m)] == "helicopter"
    assert CLASSES[decide(acc, CLASSES, _straight(MIN_LEN - 1), m)] == "helicopter"  # too short


def _det(t: int) -> Detection:
    p = (0.01, 0.44, 0.02, 0.02, 0.51)  # helicopter by a small margin
    return Detection((5.0 + 2.0 * t, 45.0, 10.0, 10.0), "helicopter", 0.99, p)


def test_smoother_reports_the_motion_class_once_the_link_is_long_enough() -> None:
    plain = TrackSmoother(CLASSES, decay=1.0)
    moving = TrackSmoother(CLASSES, decay=1.0, motion=_fast_straight_is_aeroplane(1.0))
    for t in range(20):
        a, b = plain.step([_det(t)]), moving.step([_det(t)])
        assert a[0].label == "helicopter"
        assert b[0].label == ("aeroplane" if t + 1 >= MIN_LEN else "helicopter")
        assert a[0].box == b[0].box and a[0].track == b[0].track


def test_the_sensor_params_model_reaches_the_node_smoother() -> None:
    m = _fast_straight_is_aeroplane(1.0)
    assert smoother(dataclasses.replace(PARAMS["ir"], motion=m), CLASSES).motion is m


def test_fit_recovers_a_separating_feature_and_save_load_round_trips(tmp_path: object) -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = np.repeat(np.arange(4), n // 4)
    x = rng.normal(size=(n, len(FEATURES)))
    x[:, 1] += np.where(y == 0, 3.0, 0.0)  # aeroplanes straighter
    m = fit(x, y, np.arange(n) // 20, OBJ, 0.5)
    straight = np.zeros(len(FEATURES))
    straight[1] = 3.0
    assert OBJ[int(np.argmax(m.log_q(straight)))] == "aeroplane"
    assert np.exp(m.log_q(straight)).sum() == pytest.approx(1.0)
    from pathlib import Path

    p = Path(str(tmp_path)) / "m.json"
    save(m, p, "test")
    assert load(p) == m


def test_thermal_ships_the_fitted_motion_model_and_visible_none() -> None:
    m = PARAMS["ir"].motion
    assert m is not None and m.classes == OBJ and m.weight == 0.25
    assert len(m.coef) == 4 and all(len(r) == len(FEATURES) for r in m.coef)
    assert PARAMS["visible"].motion is None
