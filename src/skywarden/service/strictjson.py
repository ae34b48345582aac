"""Strict, bounded JSON for request bodies: RFC 8259 values only, shallow, finite, valid Unicode.

Python's ``json`` accepts more than RFC 8259 (``NaN``, ``Infinity``, ``1e999`` -> ``inf``, lone
UTF-16 surrogates such as ``"\\ud800"``, integers of thousands of digits) and recurses once per
nesting level. Each of those reached a handler or an error renderer that could not encode it
(HTTP 500). ``check_json`` accepts a body only if it is UTF-8 text holding one JSON value with:

- no ``NaN``/``Infinity`` constants, and no number that overflows a double;
- integers of at most ``MAX_INT_DIGITS`` digits;
- no string or key with a lone surrogate (it cannot be encoded back to UTF-8);
- at most ``MAX_DEPTH`` nested arrays/objects.

It raises :class:`InputRejected` (``core.errors``) with a short reason that never quotes the
input. It is pure: the middleware (``bodylimit``) calls it, in a worker thread for large bodies.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from skywarden.core.errors import InputRejected

MAX_DEPTH = 32
MAX_INT_DIGITS = 40
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _constant(name: str) -> Any:
    raise _Refused("non_finite", f"{name} is not JSON")


def _float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise _Refused("non_finite", "a number overflows a double")
    return v


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused("number_too_long", f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _bad_text(s: str) -> bool:
    return not s.isascii() and _SURROGATE.search(s) is not None


def _walk(value: Any, max_depth: int) -> None:
    """Depth and surrogate check without recursion (the value may be wide)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            if _bad_text(v):
                raise _Refused("bad_unicode", "a string holds a lone UTF-16 surrogate")
        elif isinstance(v, dict):
            if depth >= max_depth:
                raise _Refused("too_deep", f"nested deeper than {max_depth}")
            for k, item in v.items():
                if _bad_text(k):
                    raise _Refused("bad_unicode", "a key holds a lone UTF-16 surrogate")
                stack.append((item, depth + 1))
        elif isinstance(v, list):
            if depth >= max_depth:
                raise _Refused("too_deep", f"nested deeper than {max_depth}")
            stack.extend((item, depth + 1) for item in v)


def check_json(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed value of ``data``; raises ``InputRejected(reason, detail)`` when not strict."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputRejected("bad_utf8", f"not UTF-8 at byte {e.start}") from None
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except _Refused as e:
        raise InputRejected(e.reason, e.detail) from None
    except json.JSONDecodeError as e:
        raise InputRejected("bad_json", f"{e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise InputRejected("too_deep", f"nested deeper than {max_depth}") from None
    except ValueError:  # e.g. int() past the interpreter's digit limit
        raise InputRejected("bad_number", "a number cannot be represented") from None
    try:
        _walk(value, max_depth)
    except _Refused as e:
        raise InputRejected(e.reason, e.detail) from None
    return value
