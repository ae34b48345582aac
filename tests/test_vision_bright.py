"""A proposal's brightness against its surround, carried along the camera link
(``nodes/vision_bright.py``, ``vision_motion.BRIGHT_FEATURES``; session 17): a hot blob
reads positive and a cool one negative, a flickering link has a larger flicker than a steady
one, the detection's brightness reaches the smoother's history, and a model of brightness
features decides what a motion-only model cannot."""

from __future__ import annotations

import numpy as np
import pytest

from skywarden.nodes.vision_bright import BRIGHT, brightness
from skywarden.nodes.vision_budget import _pack, _unpack
from skywarden.nodes.vision_cnn import CLASSES
from skywarden.nodes.vision_detect import (
    PARAMS,
    Candidate,
    Detection,
    FrameOutputs,
    TrackSmoother,
    detections,
)
from skywarden.nodes.vision_motion import (
    ALL_FEATURES,
    BRIGHT_FEATURES,
    FEATURES,
    MIN_LEN,
    MotionModel,
    features,
    load,
    save,
)

OBJ = ("aeroplane", "bird", "drone", "helicopter")


def _sky(level: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (level + rng.normal(0.0, 2.0, size=(64, 80))).astype(np.float32)


def test_a_hot_blob_reads_positive_and_a_cool_one_negative() -> None:
    g = _sky()
    g[30:34, 40:44] += 40.0  # hot 4 x 4
    g[10:13, 10:13] -= 30.0  # cool 3 x 3
    b = brightness(g, [Candidate(42.0, 32.0, 4, 4, 1.0), Candidate(11.5, 11.5, 3, 3, 1.0)])
    i = BRIGHT.index
    hot, cool = b[0], b[1]
    assert hot[i("mean_rel")] > 10.0 and cool[i("mean_rel")] < -8.0
    assert hot[i("peak_rel")] >= hot[i("mean_rel")] > 0.0
    assert hot[i("surround")] == pytest.approx(100.0, abs=1.0)
    assert hot[i("inner")] - hot[i("surround")] == pytest.approx(40.0, abs=3.0)
    # a blob at the frame's corner is measured on what lies inside the frame
    assert np.all(np.isfinite(brightness(g, [Candidate(0.0, 0.0, 5, 5, 1.0)])))


def _hist(n: int, flicker: float) -> list[tuple[float, ...]]:
    """A 10-px object crossing at 2 px a frame; mean contrast 6 +- ``flicker`` frame to
    frame (a rotor or wingbeat), peak 1.5 times it, surround 100, blob 20 grey levels up."""
    out = []
    for t in range(n):
        m = 6.0 + (flicker if t % 2 else -flicker)
        out.append((t, 10.0 + 2.0 * t, 50.0, np.log(10.0), np.log(10.0), m, 1.5 * m, 100.0, 120.0))
    return out


def test_flicker_features_tell_a_modulated_link_from_a_steady_one() -> None:
    steady, flick = features(_hist(30, 0.0)), features(_hist(30, 3.0))
    assert steady is not None and flick is not None and len(flick) == len(ALL_FEATURES)
    i = ALL_FEATURES.index
    assert steady[i("b_flicker")] == pytest.approx(0.0, abs=1e-9)
    assert flick[i("b_flicker")] > 0.5
    assert flick[i("b_rough")] > 1.0  # changes every frame: rougher than a white sequence
    assert steady[i("b_contrast")] == pytest.approx(np.log1p(6.0))
    assert steady[i("b_level")] == pytest.approx(20.0 / 64.0)
    # the motion features do not depend on the brightness columns
    assert np.array_equal(steady[: len(FEATURES)], flick[: len(FEATURES)])
    # a history without brightness (5-tuples) gives brightness features 0
    plain = features([h[:5] for h in _hist(30, 3.0)])
    assert plain is not None and not plain[len(FEATURES) :].any()


def _flicker_is_drone(weight: float) -> MotionModel:
    """A hand-made model on one brightness feature: flicker for drone, against aeroplane."""
    return MotionModel(
        OBJ,
        (0.25,),
        (0.1,),
        ((-3.0,), (0.0,), (3.0,), (0.0,)),
        (0.0, -5.0, 0.0, -5.0),
        weight,
        ("b_flicker",),
    )


def _outputs(flicker: float, t: int) -> FrameOutputs:
    """One proposal, aeroplane by a small margin, with a measured brightness."""
    m = 6.0 + (flicker if t % 2 else -flicker)
    return FrameOutputs(
        [Candidate(10.0 + 2.0 * t, 50.0, 8.0, 8.0, 9.0)],
        np.ones(1, np.float32),
        np.array([[0.01, 0.51, 0.02, 0.44, 0.02]], np.float32),
        np.zeros((1, 4), np.float32),
        np.array([[m, 1.5 * m, 100.0, 120.0]], np.float32),
    )


def test_the_blobs_brightness_reaches_the_link_and_decides_with_a_brightness_model() -> None:
    p = PARAMS["ir"]
    d = detections(_outputs(3.0, 1), p, CLASSES, p.min_score)
    assert len(d) == 1 and d[0].bright == pytest.approx((9.0, 13.5, 100.0, 120.0))
    for flicker, want in ((3.0, "drone"), (0.0, "aeroplane")):
        sm = TrackSmoother(CLASSES, decay=1.0, motion=_flicker_is_drone(1.0))
        for t in range(20):
            out = sm.step(detections(_outputs(flicker, t), p, CLASSES, p.min_score))
            assert out[0].label == (want if t + 1 >= MIN_LEN else "aeroplane")
        assert len(sm.links[0].hist[-1]) == 5 + len(BRIGHT)
    # a detection without brightness (an older cache) links as before, brightness 0
    sm = TrackSmoother(CLASSES, motion=_flicker_is_drone(1.0))
    sm.step([Detection((0.0, 0.0, 8.0, 8.0), "aeroplane", 0.9, (0.1, 0.5, 0.1, 0.2, 0.1))])
    assert sm.links[0].hist[0][5:] == (0.0,) * len(BRIGHT)


def test_a_model_of_named_features_round_trips_and_the_old_file_still_loads(
    tmp_path: object,
) -> None:
    from pathlib import Path

    m = _flicker_is_drone(0.5)
    f = Path(str(tmp_path)) / "m.json"
    save(m, f, "test")
    assert load(f) == m
    shipped = PARAMS["ir"].motion
    assert shipped is not None and shipped.names in (FEATURES, ALL_FEATURES)
    assert set(BRIGHT_FEATURES) <= set(ALL_FEATURES)


def test_the_cache_keeps_the_brightness_and_reads_caches_without_it(tmp_path: object) -> None:
    from pathlib import Path

    outs = [_outputs(3.0, 0), _outputs(3.0, 1)]
    f = Path(str(tmp_path)) / "c.npz"
    np.savez(f, **_pack(outs))
    with np.load(f) as d:
        back = _unpack(d)
    for b, o in zip(back, outs, strict=True):
        assert b.bright is not None and np.array_equal(b.bright, o.bright)
    old = {k: v for k, v in _pack(outs).items() if k != "bright"}
    np.savez(f, **old)
    with np.load(f) as d:
        assert all(b.bright is None for b in _unpack(d))
