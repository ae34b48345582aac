"""``pipeline.round3`` (the snapshot writer's vectorised rounding) gives exactly the digits
of Python's ``round(v, 3)`` per value, which the tracks.jsonl files were written with."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fuzz_settings import FUZZ
from skywarden.runtime.engine.pipeline import round3


def _same(a: float, b: float) -> bool:
    """Bitwise equal (so -0.0 differs from 0.0), NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )


def _check(values: list[float]) -> None:
    X = np.array(values, dtype=float).reshape(-1, 1)
    got = [row[0] for row in round3(X)]
    want = [round(v, 3) for v in values]
    assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (values, got, want)
    assert json.dumps(got) == json.dumps(want)


def _near_tie(k: int, ulps: int) -> float:
    """``(k + 0.5) / 1000`` (a decimal tie no double holds exactly) nudged by a few ulps."""
    v = (k + 0.5) / 1000.0
    step = math.inf if ulps > 0 else -math.inf
    for _ in range(abs(ulps)):
        v = math.nextafter(v, step)
    return v


@FUZZ
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=40))
def test_round3_is_round_for_any_float(values: list[float]) -> None:
    _check(values)


@FUZZ
@given(
    st.lists(
        st.builds(_near_tie, st.integers(-(10**10), 10**10), st.integers(-3, 3)),
        min_size=1,
        max_size=40,
    )
)
def test_round3_is_round_next_to_decimal_ties(values: list[float]) -> None:
    _check(values)


@FUZZ
@given(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=40))
def test_round3_is_round_on_binary_ties(ks: list[int]) -> None:
    """``k / 16``: exact in binary, so ``v * 1000`` lands exactly on half-integers too."""
    _check([k / 16.0 for k in ks])


def test_round3_edge_values() -> None:
    _check([0.0, -0.0, 0.0625, -0.0625, 1.0005, -1.0005, 2.675, 1e9, -1e9, 1e300, 5e-324])
    _check([-0.0004, 0.0004, 1e15 + 0.5, float("nan"), float("inf"), -float("inf")])


def test_round3_keeps_rows() -> None:
    X = np.array([[1.23456, -2.0005, 3.0], [4.5, 5.55555, -6.1234567]])
    assert round3(X) == [[round(float(v), 3) for v in row] for row in X]
