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


_Enc = tuple[str, _Conv | None, bool]
_Dec = tuple[str, _Conv, Any, Callable[[], Any] | None]
# per record class, its fields as plain tuples: unpacking one is the cheapest access per field
# (a record is encoded on every journal write, every track every second)
_PLANS: dict[type, tuple[tuple[_Enc, ...], tuple[_Dec, ...]]] = {}


def _plans_of(cls: type) -> tuple[tuple[_Enc, ...], tuple[_Dec, ...]]:
    plans = _PLANS.get(cls)
    if plans is None:
        fs = [p for f in dataclasses.fields(cls) if (p := _plan(f)) is not None]
        plans = _PLANS[cls] = (
            tuple((f.name, f.encode, f.omit_empty) for f in fs),
            tuple((f.name, f.decode, f.missing, f.factory) for f in fs),
        )
    return plans


def encode_fields(rec: Any) -> dict[str, Any]:
    """``rec`` as its JSON object: ``"kind"`` then each field in declaration order."""
    values = rec.__dict__  # the record classes are plain (not slotted) dataclasses
    d: dict[str, Any] = {"kind": rec.kind}
    for name, enc, omit_empty in _plans_of(type(rec))[0]:
        v = values[name]
        if omit_empty and not v:
            continue
        d[name] = v if enc is None else enc(v)
    return d


def decode_fields(cls: type, d: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor arguments of ``cls`` read from its JSON object ``d``."""
    out: dict[str, Any] = {}
    for name, dec, missing, factory in _plans_of(cls)[1]:
        if name in d:
            v = d[name]
        elif factory is not None:
            v = factory()
        elif missing is _NO_DEFAULT:
            raise KeyError(name)
        else:
            v = missing
        out[name] = dec(v)
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
