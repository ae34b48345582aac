"""Session 19 (vthermal): the second look at large thermal proposals (``nodes/vision_coarse``)
cuts its chips from the shrunk frame, picks only large proposals, and combines its class
probabilities with the first net's as each mode says."""

from __future__ import annotations

import numpy as np
import pytest

from skywarden.nodes.vision_cnn import CHIP, N_EXTRA, chips
from skywarden.nodes.vision_coarse import MODES, coarse_chips, combine, large
from skywarden.nodes.vision_detect import Candidate


def _square(side: int) -> tuple[np.ndarray, Candidate]:
    g = np.zeros((240, 320), np.float32)
    g[120 - side // 2 : 120 + side // 2, 160 - side // 2 : 160 + side // 2] = 100.0
    return g, Candidate(160.0, 120.0, float(side), float(side), 100.0)


def test_coarse_chip_shows_a_large_object_whole() -> None:
    g, c = _square(48)  # wider than the first net's 32 px window
    x1, _ = chips(g, [c])
    x2, e2 = coarse_chips(g, [c])
    assert x2.shape == (1, 2, CHIP, CHIP) and e2.shape == (1, N_EXTRA)
    mid = (x2[0, 0].min() + x2[0, 0].max()) / 2
    hot2 = x2[0, 0] > mid
    assert np.ptp(x1[0, 0]) == 0  # the first look sees only the object: no edge, no sky
    assert 0.4 < hot2.mean() < 0.7  # the second sees it whole (24 of 32 px a side) with sky
    assert not hot2[0].any() and not hot2[:, 0].any()
    # its scalars are the blob's in the shrunk frame's pixels
    assert e2[0, 0] == pytest.approx(np.log1p(24.0))


def test_large_picks_blobs_from_the_floor() -> None:
    cands = [Candidate(0, 0, 10, 30, 1), Candidate(0, 0, 23.9, 5, 1), Candidate(0, 0, 24, 24, 1)]
    assert large(cands).tolist() == [0, 2]
    assert large([]).tolist() == []


def test_combine_modes() -> None:
    p1 = np.array([[0.1, 0.1, 0.1, 0.1, 0.6], [0.5, 0.2, 0.1, 0.1, 0.1]], np.float32)
    p2 = np.array([[0.3, 0.6, 0.0, 0.0, 0.1], [0.0, 0.0, 0.0, 1.0, 0.0]], np.float32)
    for mode in MODES:
        q = combine(p1, p2, mode)
        np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(combine(p1, p2, "replace"), p2)
    np.testing.assert_allclose(combine(p1, p2, "mean"), (p1 + p2) / 2, atol=1e-7)
    q = combine(p1, p2, "class")
    np.testing.assert_allclose(q[:, 0], p1[:, 0])  # the first net's object score kept
    # the aeroplane the second look names wins over the first net's helicopter
    assert int(np.argmax(q[0, 1:])) == 0
    np.testing.assert_allclose(q[1], [0.5, 0.0, 0.0, 0.5, 0.0], atol=1e-7)
    with pytest.raises(ValueError):
        combine(p1, p2, "max")


def test_frame_outputs_look_again_at_large_proposals_only(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    from dataclasses import replace

    from skywarden.nodes import vision_detect
    from skywarden.nodes.vision_coarse import SecondLook

    noise = np.random.default_rng(0).normal(60.0, 4.0, (256, 320, 1))
    frame = np.repeat(np.clip(noise, 0, 255), 3, axis=2).astype(np.uint8)
    frame[100:140, 60:110] = 220  # a 50 x 40 px warm object: large
    frame[200:205, 250:255] = 200  # a 5 px one: small
    model = vision_detect.load_model("ir")
    plain = replace(vision_detect.PARAMS["ir"], second=None)
    monkeypatch.setitem(vision_detect.PARAMS, "ir", plain)
    old = vision_detect.frame_outputs(frame, "ir", model)
    # any graph with the chip CNN's inputs serves as the second net here (none is shipped)
    look = SecondLook("vision_ir.onnx", mode="mean")
    monkeypatch.setitem(vision_detect.PARAMS, "ir", replace(plain, second=look))
    new = vision_detect.frame_outputs(frame, "ir", model)
    big = large(old.cands)
    assert len(big) and len(big) < len(old.cands)
    small = np.setdiff1d(np.arange(len(old.cands)), big)
    np.testing.assert_array_equal(new.probs[small], old.probs[small])
    np.testing.assert_array_equal(new.reg, old.reg)  # the box stays the first net's
    assert not np.allclose(new.probs[big], old.probs[big])
    np.testing.assert_allclose(new.probs.sum(axis=1), 1.0, atol=1e-5)
