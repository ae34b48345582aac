"""The snapshot codec: a real pipeline comes back with the same future, shared references
stay shared, and bytes written by an attacker never import or call anything outside
skywarden's own classes."""

from __future__ import annotations

import collections
import itertools
import json
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_settings import FUZZ
from skywarden.core import statecodec
from skywarden.core.errors import DecodeError
from skywarden.core.track import TrackState
from skywarden.runtime.engine.pipeline import Pipeline
from skywarden.sim import load_scenario, simulate

M = b"TST1"


def _round(x: object) -> object:
    return statecodec.decode(statecodec.encode(x, M), M)


def test_a_pipeline_restores_to_the_same_future() -> None:
    run = simulate(load_scenario("residence"), 5)
    scans = list(itertools.islice(run.scans(), 450))
    p = Pipeline(run.site)
    for s in scans[:300]:
        p.step([s], s.t)
    q = _round(p)
    assert isinstance(q, Pipeline) and q is not p
    fa = [p.step([s], s.t) for s in scans[300:]]
    fb = [q.step([s], s.t) for s in scans[300:]]  # type: ignore[attr-defined]
    assert fa[-1].tracks, "the scenario should hold tracks by then"
    assert [repr(f) for f in fa] == [repr(f) for f in fb]


def test_containers_scalars_and_shared_references() -> None:
    shared = [1, 2]
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    rec = np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")])
    obj = np.array([("x", 1), None], dtype=object)
    cyc: list[object] = []
    cyc.append(cyc)
    dd: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
    dd["k"].append(3)
    counter = itertools.count(7, 2)
    state = {
        "a": shared,
        "b": shared,
        "t": (1.5, float("inf"), None, "s", True),
        "nan": float("nan"),
        "big": 2**80,
        "f": frozenset({1, 2}),
        "s": {3, 4},
        "bytes": b"\x00\xff",
        "ba": bytearray(b"ab"),
        (1, 2): "tuple key",
        "arr": arr,
        "view_twice": (arr, arr),
        "rec": rec,
        "obj": obj,
        "np": np.float64(0.1),
        "i64": np.int64(-5),
        "deque": collections.deque([1, 2], maxlen=3),
        "dd": dd,
        "ctr": collections.Counter("aab"),
        "od": collections.OrderedDict([("z", 1), ("a", 2)]),
        "count": counter,
        "cyc": cyc,
        "track": TrackState("7", 1.0, np.zeros(6), np.eye(6), True, "drone"),
    }
    r = _round(state)
    assert isinstance(r, dict)
    assert r["a"] is r["b"] and r["a"] == [1, 2]
    assert r["t"][:2] == (1.5, float("inf")) and r["nan"] != r["nan"] and r["big"] == 2**80
    assert r["f"] == frozenset({1, 2}) and r["s"] == {3, 4} and r[(1, 2)] == "tuple key"
    assert r["bytes"] == b"\x00\xff" and r["ba"] == bytearray(b"ab")
    assert r["arr"].dtype == np.float32 and np.array_equal(r["arr"], arr)
    assert r["view_twice"][0] is r["view_twice"][1] is r["arr"]
    assert r["rec"].dtype == rec.dtype and r["obj"][0] == ("x", 1) and r["obj"][1] is None
    assert type(r["np"]) is np.float64 and r["np"] == 0.1 and type(r["i64"]) is np.int64
    assert r["deque"].maxlen == 3 and list(r["deque"]) == [1, 2]
    assert r["dd"]["new"] == [] and r["dd"]["k"] == [3]
    assert r["ctr"] == collections.Counter("aab") and list(r["od"]) == ["z", "a"]
    next(counter)
    assert next(r["count"]) == 7 and next(r["count"]) == 9
    assert r["cyc"][0] is r["cyc"]
    tr = r["track"]
    assert isinstance(tr, TrackState) and tr.id == "7" and np.array_equal(tr.P, np.eye(6))


@dataclass
class _Foreign:  # a class of the tests, not of skywarden
    x: int


def test_what_it_cannot_store_is_named_at_encoding() -> None:
    for bad, says in ((_Foreign(1), "_Foreign"), ({"f": len}, "builtin_function_or_method")):
        with pytest.raises(statecodec.StateEncodeError, match=says):
            statecodec.encode(bad, M)
    with pytest.raises(statecodec.StateEncodeError, match="factory"):
        statecodec.encode(collections.defaultdict(lambda: 1), M)


def _frame(head: object, blob: bytes = b"") -> bytes:
    hb = json.dumps(head).encode()
    return M + zlib.compress(struct.pack(">I", len(hb)) + hb + blob)


@pytest.mark.parametrize(
    "head",
    [
        {"v": 1, "root": {"~": "o", "#": 0, "c": "os:system", "v": {}}},
        {"v": 1, "root": {"~": "o", "#": 0, "c": "subprocess:Popen", "v": {}}},
        {"v": 1, "root": {"~": "o", "#": 0, "c": "skywarden.core.statecodec:json", "v": {}}},
        {"v": 1, "root": {"~": "o", "#": 0, "c": "skywarden.nope:X", "v": {}}},
        {"v": 1, "root": {"~": "e", "c": "enum:Enum", "v": 1}},
        {"v": 1, "root": {"~": "a", "#": 0, "dt": "|O", "sh": [1], "o": 0, "n": 8}},
        {"v": 1, "root": {"~": "a", "#": 0, "dt": "<f8", "sh": [9], "o": 0, "n": 72}},
        {"v": 1, "root": {"~": "d", "#": 0, "f": "eval", "v": {}}},
        {"v": 1, "root": {"~": "r", "#": 3}},
        {"v": 1, "root": {"~": "l", "#": 0, "v": [{"~": "l", "#": 0, "v": []}]}},
        {"v": 2, "root": None},
        {"v": 1, "root": {"~": "zz"}},
        [1, 2],
    ],
)
def test_hostile_bodies_are_refused_with_a_reason(head: object) -> None:
    with pytest.raises(DecodeError) as e:
        statecodec.decode(_frame(head), M)
    assert e.value.reason == "snapshot_body"


def test_nested_too_deep_is_refused_not_a_crash() -> None:
    text = '{"v":1,"root":' + '{"~":"l","#":0,"v":[' * 5000 + "null" + "]}" * 5000 + "}"
    hb = text.encode()
    with pytest.raises(DecodeError):
        statecodec.decode(M + zlib.compress(struct.pack(">I", len(hb)) + hb), M)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data: bytes) -> None:
    for blob in (data, M + data, M + zlib.compress(data)):
        with pytest.raises(DecodeError):
            statecodec.decode(blob, M)
