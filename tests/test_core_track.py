"""``TrackState.of`` (the tracker's fast constructor) makes the same value as ``TrackState``."""

from __future__ import annotations

import dataclasses

import numpy as np

from skywarden.core.track import TrackState, TrackStatus


def test_of_fills_every_field_as_the_constructor_does() -> None:
    args = {
        "id": "7",
        "t": 12.5,
        "x": np.arange(6.0),
        "P": np.eye(6),
        "status": TrackStatus.COASTING,
        "identity": "icao:4840d6",
        "sensors": ("radar-1", "rf-1"),
        "hits": 9,
        "score": 14.25,
        "first_t": 3.0,
        "mode_probs": (0.7, 0.2, 0.1),
    }
    fast, slow = TrackState.of(**args), TrackState(**args)  # type: ignore[arg-type]
    assert type(fast) is TrackState
    assert fast.__dict__.keys() == slow.__dict__.keys()
    for f in dataclasses.fields(TrackState):
        a, b = getattr(fast, f.name), getattr(slow, f.name)
        assert a is b or a == b, f.name
    assert fast.class_probs == {} and fast.class_probs is not TrackState.of(**args).class_probs  # type: ignore[arg-type]
    assert fast.confirmed and fast.best_class == "unknown"
