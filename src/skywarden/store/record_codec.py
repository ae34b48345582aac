"""The one JSON codec of the journal's record kinds, driven by each dataclass's fields.

Why: every record kind used to spell its ``to_dict``/``from_dict`` out by hand, so each field
was written three times (class, encoder, decoder) and the conversion rules (floats as Python
floats, tuples as lists and back, optional strings, the value when a key is absent) were
repeated per kind. Here a field's conversion follows from its type annotation (one table,
:data:`_BY_TYPE`), and the few fields with a rule of their own say so in ``field(metadata=
json_field(...))``. A field added to a record class is journaled and read back with no second
edit; an annotation the table does not know fails at the first use, not silently.

The wire format is what the hand-written methods wrote, key for key and value for value (the
journal's hash chain covers the canonical JSON): ``"kind"`` first, then the fields in
declaration order. Reading: a key that is absent takes the field's default; a field without a
default is required (``KeyError`` naming it) unless its type admits ``None``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from skywarden.store.detections import str_or_none

_JSON = "json"
_Conv = Callable[[Any], Any]


def floats(v: Any) -> tuple[float, ...]:
    """A JSON list or numpy array as a tuple of Python floats (``repr`` exact)."""
    if isinstance(v, np.ndarray):  # every track state, every second: one C-level conversion
        return tuple(v.astype(float, copy=False).ravel().tolist())
    return tuple(float(x) for x in v)


def _same(v: Any) -> Any:
    return v


def _float_map(v: Any) -> dict[str, float]:
    return {str(k): float(x) for k, x in v.items()}


def _strs(v: Any) -> tuple[str, ...]:
    return tuple(str(s) for s in v)


# annotation (as written in the record class) -> (encode, decode); encode None: as is
_BY_TYPE: dict[str, tuple[_Conv | None, _Conv]] = {
    "float": (float, float),
    "int": (None, int),
    "str": (None, str),
    "str | None": (None, str_or_none),
    "Any": (None, _same),
    "dict[str, Any]": (dict, dict),
    "dict[str, float]": (dict, _float_map),
    "tuple[float, ...]": (list, floats),
    "tuple[str, ...]": (list, _strs),
}
_NULLABLE = frozenset({"str | None", "Any"})
_NO_DEFAULT = object()


@dataclass(frozen=True)
class JsonField:
    """A field's own rule, where its type's is not enough (see :func:`json_field`)."""

    encode: _Conv | None = None
    decode: _Conv | None = None
    missing: Any = _NO_DEFAULT
    omit_empty: bool = False
    skip: bool = False


def json_field(
    *,
    encode: _Conv | None = None,
    decode: _Conv | None = None,
    missing: Any = _NO_DEFAULT,
    omit_empty: bool = False,
    skip: bool = False,
) -> dict[str, JsonField]:
    """Metadata for ``dataclasses.field``: ``missing`` is read when the key is absent (for a
    field the constructor requires), ``omit_empty`` leaves an empty value out of the JSON (so
    the records written before the field existed hash as before), ``skip`` keeps the field out
    of the codec (the raw message's bytes, stored apart)."""
    return {_JSON: JsonField(encode, decode, missing, omit_empty, skip)}


@dataclass(frozen=True)
class _Field:
    name: str
    encode: _Conv | None
    decode: _Conv
    missing: Any  # _NO_DEFAULT: required
    factory: Callable[[], Any] | None
    omit_empty: bool


def _plan(f: dataclasses.Field[Any]) -> _Field | None:
    rule: JsonField = f.metadata.get(_JSON, JsonField())
    if rule.skip:
        return None
    by_type = _BY_TYPE.get(str(f.type))
    if by_type is None and (rule.encode is None or rule.decode is None):
        raise TypeError(f"record field {f.name}: no JSON rule for {f.type!r}")
    enc, dec = by_type or (None, _same)
    missing = rule.missing
    factory = None
    if missing is _NO_DEFAULT:
        if f.default is not dataclasses.MISSING:
            missing = f.default
        elif f.default_factory is not dataclasses.MISSING:
            factory = f.default_factory
        elif str(f.type) in _NULLABLE:
            missing = None
    return _Field(f.name, rule.encode or enc, rule.decode or dec, missing, factory, rule.omit_empty)


_PLANS: dict[type, tuple[_Field, ...]] = {}


def _fields_of(cls: type) -> tuple[_Field, ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = tuple(
            p for f in dataclasses.fields(cls) if (p := _plan(f)) is not None
        )
    return plan


def encode_fields(rec: Any) -> dict[str, Any]:
    """``rec`` as its JSON object: ``"kind"`` then each field in declaration order."""
    d: dict[str, Any] = {"kind": rec.kind}
    for f in _fields_of(type(rec)):
        v = getattr(rec, f.name)
        if f.omit_empty and not v:
            continue
        d[f.name] = v if f.encode is None else f.encode(v)
    return d


def decode_fields(cls: type, d: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor arguments of ``cls`` read from its JSON object ``d``."""
    out: dict[str, Any] = {}
    for f in _fields_of(cls):
        if f.name in d:
            v = d[f.name]
        elif f.factory is not None:
            v = f.factory()
        elif f.missing is _NO_DEFAULT:
            raise KeyError(f.name)
        else:
            v = f.missing
        out[f.name] = f.decode(v)
    return out


class JsonRecord:
    """Base of the record kinds: ``to_dict``/``from_dict`` through the field codec."""

    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        return encode_fields(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        make: Any = cls  # a dataclass: its constructor takes the fields
        rec: Self = make(**decode_fields(cls, d))
        return rec
