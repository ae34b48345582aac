"""Detections in a raw message's parsed form: the JSON convention adapters journal them in.

A raw message's ``parsed`` field is free JSON chosen by its adapter; adapters that want their
detections exported and replayed put ``detections_parsed(dets)`` in it:
``{"detections": [detection_to_dict(d), ...], "common": {...}}`` (``common``: the values all
detections share, stored once). Why a module of its own: this is the one codec between
``core.observation.Detection`` and JSON, used by the journal, export, replay and the cluster
codec, while ``store.records`` is about the record kinds themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind


def str_or_none(v: Any) -> str | None:
    return None if v is None else str(v)


def detection_to_dict(d: Detection) -> dict[str, Any]:
    """A :class:`Detection` as JSON (the convention for a raw message's ``parsed`` form)."""
    return {
        "t": float(d.t),
        "sensor_id": d.sensor_id,
        "kind": d.kind.value,
        "z": np.asarray(d.z, dtype=float).tolist(),
        "R": np.asarray(d.R, dtype=float).ravel().tolist(),
        "sensor_pos": np.asarray(d.sensor_pos, dtype=float).tolist(),
        "identity": d.identity,
        "rcs_dbsm": d.rcs_dbsm,
        "class_hint": d.class_hint,
        "class_conf": float(d.class_conf),
        "attrs": {str(k): v for k, v in d.attrs.items()},
    }


def detection_from_dict(d: Mapping[str, Any], R: Any = None, sensor_pos: Any = None) -> Detection:
    """``R``/``sensor_pos``: arrays already built from ``d``'s values, shared by the
    detections of one message (see :func:`detections_from_parsed`)."""
    kind = MeasurementKind(d["kind"])
    n = kind.dim
    rcs = d.get("rcs_dbsm")
    if R is None or R.shape != (n, n):
        R = np.asarray(d["R"], dtype=float).reshape(n, n)
    if sensor_pos is None:
        sensor_pos = np.asarray(d.get("sensor_pos", (0.0, 0.0, 0.0)), dtype=float)
    return Detection(
        t=float(d["t"]),
        sensor_id=str(d["sensor_id"]),
        kind=kind,
        z=np.asarray(d["z"], dtype=float),
        R=R,
        sensor_pos=sensor_pos,
        identity=str_or_none(d.get("identity")),
        rcs_dbsm=None if rcs is None else float(rcs),
        class_hint=str_or_none(d.get("class_hint")),
        class_conf=float(d.get("class_conf", 0.0)),
        attrs=dict(d.get("attrs", {})),
    )


HOISTED = ("R", "sensor_pos", "sensor_id", "attrs")
"""Keys a message's detections usually share (one sensor's noise model and position)."""


def detections_parsed(dets: Sequence[Detection]) -> dict[str, Any]:
    """The parsed form of a message's detections: ``{"detections": [...]}``, with the values
    every detection shares (``HOISTED``) stored once under ``"common"``: a radar message's
    plots share one R and sensor position, and repeating them made the journal's JSON
    encoding the ingest bottleneck."""
    rows = [detection_to_dict(d) for d in dets]
    out: dict[str, Any] = {"detections": rows}
    if len(rows) > 1:
        common = {k: rows[0][k] for k in HOISTED if all(r[k] == rows[0][k] for r in rows[1:])}
        if common:
            for r in rows:
                for k in common:
                    del r[k]
            out["common"] = common
    return out


def detections_from_parsed(
    p: Any, t: float, sensor_id: str, strict: bool = False
) -> list[Detection]:
    """Detections from ``detections_parsed`` output. The hoisted ``R`` and sensor position
    become one array each, shared by every detection of the message, as the adapters
    produce them (the tracker stacks a shared R once). ``strict``: a row that is not a
    detection raises ``KeyError``/``TypeError`` instead of being skipped."""
    if not isinstance(p, Mapping):
        if strict:
            raise TypeError("parsed detections: not an object")
        return []
    common = p.get("common")
    common = common if isinstance(common, Mapping) else {}
    base = {"t": t, "sensor_id": sensor_id, **common}
    R = _square(common["R"]) if "R" in common else None
    pos = np.asarray(common["sensor_pos"], dtype=float) if "sensor_pos" in common else None
    out: list[Detection] = []
    for d in p.get("detections", ()) or ():
        if not (isinstance(d, Mapping) and "z" in d and "kind" in d):
            if strict:
                raise KeyError(f"detection row without z and kind: {str(d)[:80]}")
            continue
        out.append(
            detection_from_dict(
                {**base, **d},
                R=None if "R" in d else R,
                sensor_pos=None if "sensor_pos" in d else pos,
            )
        )
    return out


def _square(v: Any) -> Any:
    """A flat n*n list as an (n, n) array, or None when it is not square (the detection's
    own conversion then refuses it with the usual error)."""
    a = np.asarray(v, dtype=float)
    n = math.isqrt(a.size)
    return a.reshape(n, n) if a.ndim == 1 and n * n == a.size else None
