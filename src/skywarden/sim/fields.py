"""Small, strict field readers for scenario files: every failure names the field path.

The scenario schema (``sim.scenario``) is written with these helpers instead of a schema
library so that a bad file fails with :class:`core.errors.ConfigError` carrying the dotted
path (``objects[2].script[1].orbit.radius_m``) and a reason an integrator can act on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from skywarden.core.errors import ConfigError
from skywarden.core.strict import check_keys

_MISSING = object()


def _where(d: Mapping[str, Any], key: str, path: str, default: Any) -> str:
    """``path.key`` for messages; a ConfigError when the key is absent and has no default."""
    where = f"{path}.{key}" if path else key
    if key not in d and default is _MISSING:
        raise ConfigError(where, "is required")
    return where


def table(v: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise ConfigError(path, f"must be a table, got {type(v).__name__}")
    return v


def array(v: Any, path: str) -> list[Any]:
    if not isinstance(v, list | tuple):
        raise ConfigError(path, f"must be an array, got {type(v).__name__}")
    return list(v)


def only_keys(d: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    """Reject unknown keys: a typo in a scenario must not be silently ignored."""
    check_keys(d, allowed, path)


def num(
    d: Mapping[str, Any],
    key: str,
    path: str,
    default: Any = _MISSING,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
) -> float:
    where = _where(d, key, path, default)
    if key not in d:
        return float(default)
    return as_num(d[key], where, lo=lo, hi=hi, lo_open=lo_open)


def as_num(
    v: Any, where: str, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False
) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(where, f"must be a number, got {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f):
        raise ConfigError(where, "must be finite")
    if lo is not None and (f < lo or (lo_open and f == lo)):
        raise ConfigError(where, f"must be {'>' if lo_open else '>='} {lo}, got {f}")
    if hi is not None and f > hi:
        raise ConfigError(where, f"must be <= {hi}, got {f}")
    return f


def opt_num(
    d: Mapping[str, Any], key: str, path: str, *, lo: float | None = None, lo_open: bool = False
) -> float | None:
    if key not in d or d[key] is None:
        return None
    return num(d, key, path, lo=lo, lo_open=lo_open)


def integer(d: Mapping[str, Any], key: str, path: str, default: Any = _MISSING, lo: int = 0) -> int:
    where = _where(d, key, path, default)
    if key not in d:
        return int(default)
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(where, f"must be an integer, got {type(v).__name__}")
    if v < lo:
        raise ConfigError(where, f"must be >= {lo}, got {v}")
    return v


def vec(d: Mapping[str, Any], key: str, path: str, n: int, default: Any = _MISSING) -> list[float]:
    where = _where(d, key, path, default)
    if key not in d:
        return [float(x) for x in default]
    return as_vec(d[key], where, n)


def as_vec(v: Any, where: str, n: int) -> list[float]:
    if not isinstance(v, list | tuple) or len(v) != n:
        raise ConfigError(where, f"must be a list of {n} numbers")
    return [as_num(x, f"{where}[{i}]") for i, x in enumerate(v)]


def string(
    d: Mapping[str, Any],
    key: str,
    path: str,
    default: Any = _MISSING,
    choices: Iterable[str] | None = None,
) -> str:
    where = _where(d, key, path, default)
    if key not in d:
        return str(default)
    v = d[key]
    if not isinstance(v, str) or not v:
        raise ConfigError(where, "must be a non-empty string")
    if choices is not None:
        c = list(choices)
        if v not in c:
            raise ConfigError(where, f"{v!r} is not one of: {', '.join(c)}")
    return v


def boolean(d: Mapping[str, Any], key: str, path: str, default: bool = False) -> bool:
    if key not in d:
        return default
    v = d[key]
    if not isinstance(v, bool):
        raise ConfigError(f"{path}.{key}" if path else key, "must be true or false")
    return v


def intervals(d: Mapping[str, Any], key: str, path: str) -> tuple[tuple[float, float], ...]:
    """``[[t0, t1], ...]`` with t0 < t1 (outage schedules)."""
    if key not in d:
        return ()
    where = f"{path}.{key}"
    out = []
    for i, iv in enumerate(array(d[key], where)):
        a, b = as_vec(iv, f"{where}[{i}]", 2)
        if b <= a:
            raise ConfigError(f"{where}[{i}]", f"end {b} must be after start {a}")
        out.append((a, b))
    return tuple(out)
