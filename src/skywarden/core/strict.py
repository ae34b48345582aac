"""Strict keys: every table a configuration file holds is checked against its known keys.

One helper for every file skywarden reads (site, outputs, scenario, tracker settings,
``skywarden.toml``), so a misspelt key fails the same way everywhere: with the key's dotted
path and the nearest valid key (``zones[0].cieling_m: unknown key; did you mean
'ceiling_m'?``). A silently ignored typo is the worst kind of configuration error: the file
loads and a default (a ceiling of 1e9 m, a detection probability of 0.9) quietly replaces
what the operator wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from skywarden.core.errors import ConfigError


def nearest(key: str, allowed: Iterable[str]) -> str | None:
    """The valid key closest to ``key`` (difflib ratio >= 0.6), or None.

    ``difflib`` is imported here: only a bad file pays for it (20 ms of imports, some 7 %
    of ``skywarden track`` on a small file)."""
    import difflib

    near = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
    return near[0] if near else None


def unknown_key(path: str, key: str, allowed: Iterable[str]) -> ConfigError:
    """The error for one unknown key: its path, the nearest valid key and the valid ones."""
    valid = sorted(allowed)
    near = nearest(key, valid)
    hint = f"; did you mean {near!r}?" if near else ""
    where = f"{path}.{key}" if path else key
    return ConfigError(where, f"unknown key{hint} (valid: {', '.join(valid)})")


def check_keys(d: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    """Raise :func:`unknown_key`'s error for the first key of ``d`` not in ``allowed``."""
    allowed_set = frozenset(allowed)
    for k in d:
        if k not in allowed_set:
            raise unknown_key(path, str(k), allowed_set)
