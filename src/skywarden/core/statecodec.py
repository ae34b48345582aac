"""A safe, versioned codec for the pipeline's state snapshots: no pickle, no code on load.

Snapshots hold the whole pipeline (tracker bank and pending plots, classifier evidence, alert
manager, ...): a graph of numpy arrays, frozen dataclasses and plain containers that changes
shape as the stages evolve. Pickle stored it for free, but loading a pickle runs whatever
code the bytes name, so anyone able to write the snapshot bucket of a cluster (or the
snapshot table of a journal) could run code in every worker (issue 24). This codec stores
the same graph as data and rebuilds it from a closed vocabulary:

- JSON scalars as themselves; a tuple as a JSON array (tuples are the common case: frozen
  values); everything else as a tagged object ``{"~": TAG, ...}``;
- mutable containers (list, dict, set, deque, bytearray), arrays and objects carry an id
  ``"#"`` on first sight and are written as ``{"~": "r", "#": id}`` after, so shared
  references and cycles come back shared, as pickle kept them;
- numpy arrays as dtype, shape and an (offset, length) into one binary blob beside the JSON;
  object arrays element by element;
- an object only of a class defined in a ``skywarden.`` module, rebuilt by ``cls.__new__``
  and its instance fields (frozen dataclasses included, bypassing ``__setattr__`` as pickle
  does); enums of those modules by value; from the standard library only deque,
  itertools.count, Counter, OrderedDict and a defaultdict whose factory is a builtin type.

A class may name instance fields that are no part of its state in a class attribute
``_state_transient`` (an observer hook): they are not stored, and a loaded object reads the
class attribute's default.

Anything else (a function, a socket, a foreign class) fails the *encoding* with the path to
it, so a stage that grows an unsnapshotable field is caught by the snapshot tests, not in the
field. Decoding never imports a module outside ``skywarden.`` and never calls anything but
those constructors; a malformed body raises :class:`DecodeError` with a reason.

Frame: ``magic`` (4 bytes, chosen by the caller) + zlib( u32 big-endian length of the JSON
header + the header (UTF-8) + the blob ). The header is ``{"v": 1, "root": <encoded>}``.
"""

from __future__ import annotations

import collections
import enum
import importlib
import itertools
import json
import re
import struct
import zlib
from typing import Any

import numpy as np

from skywarden.core.errors import DecodeError

VERSION = 1
_ALLOWED_PREFIX = "skywarden."
_FACTORIES: dict[str, type] = {t.__name__: t for t in (list, dict, set, int, float, str)}
_SCALARS = frozenset((type(None), bool, int, float, str))
_COUNT = re.compile(r"count\((-?\d+)(?:, (-?\d+))?\)$")


class StateEncodeError(TypeError):
    """The state holds something this codec does not store; the message names the field
    (``class.field`` of the nearest object holding it) and the type."""


class _Encoder:
    def __init__(self) -> None:
        self.ids: dict[int, int] = {}
        self.keep: list[Any] = []  # keeps encoded objects alive so their ids stay unique
        self.blob = bytearray()

    def _mark(self, x: Any) -> int | None:
        """The reference id of ``x`` if already written, else register it and return None."""
        k = id(x)
        if k in self.ids:
            return self.ids[k]
        self.ids[k] = len(self.ids)
        self.keep.append(x)
        return None

    def _bytes(self, b: bytes | memoryview) -> tuple[int, int]:
        off = len(self.blob)
        self.blob += b
        return off, len(self.blob) - off

    def enc(self, x: Any, path: str) -> Any:
        t = type(x)
        if x is None or t is bool or t is int or t is float or t is str:
            return x
        if t is tuple:
            if all(type(v) in _SCALARS for v in x):  # the common case: a tuple of numbers
                return list(x)
            return [self.enc(v, path) for v in x]
        if isinstance(x, np.generic):
            return {"~": "n", "dt": x.dtype.str, "v": x.item()}
        if isinstance(x, enum.Enum):
            return {"~": "e", "c": _class_name(t, path), "v": self.enc(x.value, path)}
        if t is frozenset:
            return {"~": "fs", "v": [self.enc(v, path) for v in x]}
        if t is bytes:
            off, n = self._bytes(x)
            return {"~": "b", "o": off, "n": n}
        ref = self._mark(x)
        if ref is not None:
            return {"~": "r", "#": ref}
        me = self.ids[id(x)]
        if t is list:
            return {"~": "l", "#": me, "v": [self.enc(v, path) for v in x]}
        if t in (dict, collections.OrderedDict, collections.Counter, collections.defaultdict):
            out: dict[str, Any] = {"~": "d", "#": me}
            if t is collections.defaultdict:
                f = x.default_factory
                fname = str(getattr(f, "__name__", ""))
                if f is None or _FACTORIES.get(fname) is not f:
                    raise StateEncodeError(f"{path}: defaultdict factory {f!r}")
                out["f"] = fname
            elif t is not dict:
                out["k2"] = "C" if t is collections.Counter else "O"
            if all(type(k) is str for k in x):
                out["v"] = {k: self.enc(v, path) for k, v in x.items()}
            else:
                out["k"] = [self.enc(k, path) for k in x]
                out["v"] = [self.enc(v, path) for v in x.values()]
            return out
        if t is set:
            return {"~": "s", "#": me, "v": [self.enc(v, path) for v in x]}
        if t is collections.deque:
            return {"~": "q", "#": me, "m": x.maxlen, "v": [self.enc(v, path) for v in x]}
        if t is bytearray:
            off, n = self._bytes(bytes(x))
            return {"~": "ba", "#": me, "o": off, "n": n}
        if t is itertools.count:
            m = _COUNT.match(repr(x))
            if m is None:
                raise StateEncodeError(f"{path}: {x!r}")
            return {"~": "c", "#": me, "v": int(m[1]), "s": int(m[2] or 1)}
        if t is np.ndarray:
            return self._array(x, me, path)
        return self._object(x, me, path)

    def _array(self, a: np.ndarray[Any, Any], me: int, path: str) -> Any:
        if a.dtype.hasobject:
            flat = [self.enc(v, path) for v in a.ravel().tolist()]
            return {"~": "ao", "#": me, "sh": list(a.shape), "v": flat}
        descr = np.lib.format.dtype_to_descr(a.dtype)
        off, n = self._bytes(np.ascontiguousarray(a).tobytes())
        return {"~": "a", "#": me, "dt": descr, "sh": list(a.shape), "o": off, "n": n}

    def _object(self, x: Any, me: int, path: str) -> Any:
        t = type(x)
        name = _class_name(t, path)
        state: dict[str, Any] = {}
        d = getattr(x, "__dict__", None)
        if d is not None:
            state.update(d)
        for k in getattr(t, "_state_transient", ()):
            state.pop(k, None)  # a hook, not state: the class's default comes back on load
        for cls in t.__mro__:
            for s in getattr(cls, "__slots__", ()):
                if s not in ("__dict__", "__weakref__") and hasattr(x, s):
                    state[s] = getattr(x, s)
        if d is None and not state and not hasattr(t, "__slots__"):
            raise StateEncodeError(f"{path}: {t.__module__}.{t.__qualname__} has no fields")
        return {
            "~": "o",
            "#": me,
            "c": name,
            "v": {k: self.enc(v, f"{name}.{k}") for k, v in state.items()},
        }


def _class_name(t: type, path: str) -> str:
    if not t.__module__.startswith(_ALLOWED_PREFIX) or "<locals>" in t.__qualname__:
        raise StateEncodeError(f"{path}: {t.__module__}.{t.__qualname__} is not a state type")
    return f"{t.__module__}:{t.__qualname__}"


class _Decoder:
    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.refs: dict[int, Any] = {}

    def _slice(self, d: dict[str, Any]) -> bytes:
        off, n = int(d["o"]), int(d["n"])
        if off < 0 or n < 0 or off + n > len(self.blob):
            raise ValueError("blob reference out of range")
        return self.blob[off : off + n]

    def _put(self, d: dict[str, Any], x: Any) -> Any:
        k = int(d["#"])
        if k in self.refs:
            raise ValueError(f"id {k} defined twice")
        self.refs[k] = x
        return x

    def dec(self, x: Any) -> Any:
        if x is None or type(x) in (bool, int, float, str):
            return x
        if type(x) is list:
            return tuple(self.dec(v) for v in x)
        if type(x) is not dict:
            raise ValueError(f"unexpected {type(x).__name__}")
        tag = x["~"]
        if tag == "r":
            return self.refs[int(x["#"])]
        if tag == "n":
            return np.dtype(str(x["dt"])).type(x["v"])
        if tag == "e":
            cls = _resolve(x["c"])
            if not issubclass(cls, enum.Enum):
                raise ValueError(f"{x['c']} is not an enum")
            return cls(self.dec(x["v"]))
        if tag == "fs":
            return frozenset(self.dec(v) for v in x["v"])
        if tag == "b":
            return self._slice(x)
        if tag == "l":
            out: list[Any] = self._put(x, [])
            out.extend(self.dec(v) for v in x["v"])
            return out
        if tag == "d":
            return self._dict(x)
        if tag == "s":
            s: set[Any] = self._put(x, set())
            s.update(self.dec(v) for v in x["v"])
            return s
        if tag == "q":
            m = x["m"]
            q: collections.deque[Any] = self._put(x, collections.deque(maxlen=m))
            q.extend(self.dec(v) for v in x["v"])
            return q
        if tag == "ba":
            return self._put(x, bytearray(self._slice(x)))
        if tag == "c":
            return self._put(x, itertools.count(int(x["v"]), int(x["s"])))
        if tag == "a":
            dt = np.lib.format.descr_to_dtype(_descr(x["dt"]))
            if dt.hasobject:
                raise ValueError("object dtype in a binary array")
            a = np.frombuffer(self._slice(x), dtype=dt).reshape([int(n) for n in x["sh"]])
            return self._put(x, a.copy())
        if tag == "ao":
            shape = [int(n) for n in x["sh"]]
            arr = self._put(x, np.empty(shape, dtype=object))
            flat = [self.dec(v) for v in x["v"]]
            if len(flat) != arr.size:
                raise ValueError("object array size")
            cells = arr.reshape(-1)  # a view of the new array
            for i, v in enumerate(flat):
                cells[i] = v
            return arr
        if tag == "o":
            cls = _resolve(x["c"])
            obj = self._put(x, object.__new__(cls))
            for k, v in x["v"].items():
                object.__setattr__(obj, str(k), self.dec(v))
            return obj
        raise ValueError(f"unknown tag {tag!r}")

    def _dict(self, x: dict[str, Any]) -> Any:
        if "f" in x:
            f = _FACTORIES[str(x["f"])]
            d: dict[Any, Any] = collections.defaultdict(f)
        elif x.get("k2") == "C":
            d = collections.Counter()
        elif x.get("k2") == "O":
            d = collections.OrderedDict()
        else:
            d = {}
        self._put(x, d)
        if "k" in x:
            for k, v in zip(x["k"], x["v"], strict=True):
                d[self.dec(k)] = self.dec(v)
        else:
            for k, v in x["v"].items():
                d[k] = self.dec(v)
        return d


def _descr(d: Any) -> Any:
    """A dtype descr from JSON: a string, or a list of [name, descr(, shape)] fields."""
    if isinstance(d, str):
        return d
    return [tuple(_descr(p) if i == 1 else p for i, p in enumerate(f)) for f in d]


def _resolve(name: Any) -> type:
    mod, _, qual = str(name).partition(":")
    if not mod.startswith(_ALLOWED_PREFIX) or not qual or "<" in qual:
        raise ValueError(f"class {name!r} is not a state type")
    obj: Any = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, type) or not obj.__module__.startswith(_ALLOWED_PREFIX):
        raise ValueError(f"{name!r} is not a class of skywarden")
    return obj


def encode(root: Any, magic: bytes, level: int = 1) -> bytes:
    """``magic`` + zlib(header length, JSON header, blob). Raises :class:`StateEncodeError`."""
    e = _Encoder()
    header = json.dumps({"v": VERSION, "root": e.enc(root, "state")}, separators=(",", ":"))
    hb = header.encode()
    return magic + zlib.compress(struct.pack(">I", len(hb)) + hb + bytes(e.blob), level)


def decode(data: bytes, magic: bytes) -> Any:
    """The state written by :func:`encode`; :class:`DecodeError` (``snapshot_magic`` or
    ``snapshot_body``) for anything else."""
    if not data.startswith(magic):
        raise DecodeError("snapshot_magic", f"snapshot starts {data[:4]!r}, want {magic!r}")
    try:
        raw = zlib.decompress(data[len(magic) :])
        (n,) = struct.unpack(">I", raw[:4])
        head = json.loads(raw[4 : 4 + n])
        if not isinstance(head, dict) or head.get("v") != VERSION:
            raise ValueError(f"codec version {head.get('v') if isinstance(head, dict) else '?'}")
        return _Decoder(raw[4 + n :]).dec(head["root"])
    except DecodeError:
        raise
    except (
        zlib.error,
        struct.error,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        ImportError,
        IndexError,
        RecursionError,
        OverflowError,
    ) as e:
        raise DecodeError("snapshot_body", f"{type(e).__name__}: {e}") from None
