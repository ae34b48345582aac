"""The field-driven record codec (``store.record_codec``): its rules, one by one.

The journal's own tests check the record kinds round-trip and hash as before; these pin the
rules every kind now shares, on small record classes of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pytest

from skywarden.store.record_codec import JsonRecord, json_field
from skywarden.store.records import RECORD_TYPES, TrackRecord, record_from_dict


@dataclass(frozen=True)
class _Rec(JsonRecord):
    kind: ClassVar[str] = "test"
    t: float
    who: str | None
    xs: tuple[float, ...] = ()
    tags: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict, metadata=json_field(omit_empty=True))
    n: int = 3


def test_encode_kind_first_then_fields_in_order() -> None:
    d = _Rec(np.float64(1), "a", (2.5,), {"k": 1}).to_dict()
    assert list(d) == ["kind", "t", "who", "xs", "tags", "n"]  # empty "extra" left out
    assert d == {"kind": "test", "t": 1.0, "who": "a", "xs": [2.5], "tags": {"k": 1}, "n": 3}
    assert type(d["t"]) is float  # a float field is written as a Python float


def test_omit_empty_field_is_written_when_set() -> None:
    assert _Rec(1.0, None, extra={"g": 1}).to_dict()["extra"] == {"g": 1}


def test_decode_defaults_nullable_and_required() -> None:
    r = _Rec.from_dict({"t": 2, "xs": [1, 2]})
    assert r == _Rec(2.0, None, (1.0, 2.0), {}, {}, 3)
    assert type(r.t) is float and r.xs == (1.0, 2.0)
    with pytest.raises(KeyError, match="t"):
        _Rec.from_dict({"who": "a"})


def test_round_trip() -> None:
    r = _Rec(1.25, "b", (0.1, 0.2), {"a": [1]}, {"e": 2}, 7)
    assert _Rec.from_dict(r.to_dict()) == r


def test_unknown_annotation_is_refused() -> None:
    @dataclass(frozen=True)
    class _Odd(JsonRecord):
        kind: ClassVar[str] = "odd"
        when: complex

    with pytest.raises(TypeError, match="no JSON rule for 'complex'"):
        _Odd(1j).to_dict()


@pytest.mark.parametrize("kind", sorted(RECORD_TYPES))
def test_every_record_kind_has_a_plan(kind: str) -> None:
    """Every kind's annotations are in the table (a new field of a new type fails here)."""
    minimal: dict[str, dict[str, Any]] = {
        "raw": {"t": 1, "sensor_id": "s", "format": "f"},
        "track": {"t": 1, "track_id": "T", "status": "tentative", "x": [0] * 6},
        "alert": {"t": 1, "alert_id": "A", "to_state": "raised"},
        "operator": {"t": 1, "operator": "o", "action": "ack"},
        "config": {"t": 1, "actor": "o", "key": "k"},
        "retention": {"t": 1, "actor": "j"},
        "tick": {"t": 1},
        "investigation": {"t": 1, "actor": "o", "t_from": 0, "t_to": 1, "body": {}},
    }
    rec = record_from_dict({"kind": kind, **minimal[kind]})
    assert record_from_dict(rec.to_dict()) == rec


def test_track_ground_absent_or_null_reads_empty() -> None:
    d = TrackRecord(1.0, "T", "confirmed", (0.0,) * 6).to_dict()
    assert "ground" not in d
    assert TrackRecord.from_dict({**d, "ground": None}).ground == {}
