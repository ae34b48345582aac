"""Field readers shared by the configuration parsers of ``core`` (site, zones, links).

Each one takes the value and its dotted path and raises :class:`ConfigError` naming that
path, so a bad file says where it is bad. Unknown keys are refused by
:func:`skywarden.core.strict.check_keys`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from skywarden.core.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


def req(d: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in d:
        raise ConfigError(f"{path}.{key}" if path else key, "is required")
    return d[key]


def no_secret(d: Mapping[str, Any], path: str) -> None:
    """Refuse a ``password`` written into a configuration table: a file is copied, diffed and
    journaled, so a secret is named by the environment variable that holds it
    (``password_env``) and read when the run starts."""
    if "password" in d:
        raise ConfigError(
            f"{path}.password",
            "never in the site file: put it in an environment variable and name that "
            "variable with password_env",
        )


def ident(d: Mapping[str, Any], path: str) -> str:
    """The required ``id`` of a table (a sensor, a zone): a non-empty string, kept exactly as
    written, since ids are matched exactly (in the journal, the API, the warning policy)."""
    v = req(d, "id", path)
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{path}.id", "must be a non-empty string")
    return v


def num(v: Any, path: str, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(path, f"must be a number, got {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f):
        raise ConfigError(path, "must be finite")
    if positive and f <= 0:
        raise ConfigError(path, f"must be > 0, got {f}")
    if nonneg and f < 0:
        raise ConfigError(path, f"must be >= 0, got {f}")
    return f


def vec(v: Any, n: int, path: str) -> list[float]:
    if not isinstance(v, list | tuple) or len(v) != n:
        raise ConfigError(path, f"must be a list of {n} numbers")
    return [num(x, f"{path}[{i}]") for i, x in enumerate(v)]


def enum(cls: type[StrEnum], v: Any, path: str) -> Any:
    try:
        return cls(v)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ConfigError(path, f"{v!r} is not one of: {allowed}") from None


def integer(v: Any, path: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(path, f"must be an integer, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise ConfigError(path, f"must be in [{lo}, {hi}], got {v}")
    return v


def string(v: Any, path: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(path, "must be a non-empty string")
    return v.strip()


def table(v: Any, path: str, what: str = "a table") -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise ConfigError(path, f"must be {what}")
    return v


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file as a mapping; ConfigError ``(file)`` naming the file when it cannot be read.

    ``tomllib`` is imported here: ``skywarden track`` reads no TOML and should not pay for
    the parser's import."""
    import tomllib
    from pathlib import Path

    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("(file)", f"not valid TOML: {e}", str(p)) from None
    except OSError as e:
        raise ConfigError("(file)", f"cannot read: {e.strerror}", str(p)) from None
