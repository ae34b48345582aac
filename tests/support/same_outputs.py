"""One journal through several modes: do they give the same frames and alert events?

Every mode that runs the pipeline is a transport around ``runtime.engine.Engine`` (live,
``skywarden replay``, ``track``-style offline stepping, the cluster's pooled worker and
edge). A test collects what each mode produced from the same recorded inputs as a
:class:`ModeOutputs` and calls :func:`assert_same_outputs`, which compares them field by
field (numpy arrays by value, NaN equal to NaN) and names the first difference by its path,
e.g. ``frames[12].tracks[0].x[3]``.

Legs provided here:

- :func:`replay_leg`: ``runtime.replay.replay_journal`` (the live path's replay: inputs in
  journal order, restarts rebuilt as the live process did);
- :func:`offline_leg`: the journal's inputs through a fresh engine the way ``skywarden
  track`` steps a scenario: each sensor message made into scans and pushed with
  ``Engine.scan``, ticks, operator actions and zone edits pushed as records, no journal
  outputs made (``records=False``). Meant for a journal of one run (no restart in it).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skywarden.alerts.lifecycle import AlertEvent
from skywarden.core.site import Site
from skywarden.runtime.engine.engine import Engine, Output, scans_of
from skywarden.runtime.engine.pipeline import Frame, PipelineConfig
from skywarden.runtime.engine.restore import INPUT_KINDS
from skywarden.runtime.offline.replay import replay_journal
from skywarden.store.journal import Journal
from skywarden.store.records import ConfigChange, RawMessage, detections_of


@dataclass
class ModeOutputs:
    """What one mode produced from the inputs: every frame stepped and every alert event."""

    name: str
    frames: list[Frame] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)
    zones: tuple[str, ...] = ()  # the zones in force at the end (edits are inputs too)

    def take(self, out: Output) -> None:
        self.frames += out.frames
        self.events += out.events


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The path of the first field where ``a`` and ``b`` differ (None if equal)."""
    if type(a) is not type(b):
        return f"{path} (type {type(a).__name__} != {type(b).__name__})"
    if isinstance(a, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"{path} (shape/dtype {a.shape} {a.dtype} != {b.shape} {b.dtype})"
        same = np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        return None if same else f"{path} ({a!r} != {b!r})"
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            d = first_difference(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
            if d is not None:
                return d
        return None
    if isinstance(a, Mapping):
        if list(a) != list(b):
            return f"{path} (keys {sorted(map(str, a))} != {sorted(map(str, b))})"
        for k in a:
            d = first_difference(a[k], b[k], f"{path}[{k!r}]")
            if d is not None:
                return d
        return None
    if isinstance(a, list | tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d is not None:
                return d
        return None if len(a) == len(b) else f"{path} (length {len(a)} != {len(b)})"
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return None
    if isinstance(a, set | frozenset | str | bytes | int | float | bool) or a is None:
        return None if a == b else f"{path} ({a!r} != {b!r})"
    if hasattr(a, "__dict__"):
        return first_difference(vars(a), vars(b), path)
    return None if a == b else f"{path} ({a!r} != {b!r})"


def assert_same_outputs(a: ModeOutputs, b: ModeOutputs) -> None:
    """Same frames and same alert events, field by field (the message names the path)."""
    for what in ("frames", "events"):
        d = first_difference(getattr(a, what), getattr(b, what), what)
        assert d is None, f"{a.name} vs {b.name}: first difference at {d}"


def replay_leg(journal: Journal, site: Site, config: PipelineConfig | None = None) -> ModeOutputs:
    out = ModeOutputs("replay")
    replay_journal(journal, site, config, on_output=out.take)
    return out


def offline_leg(journal: Journal, site: Site, config: PipelineConfig | None = None) -> ModeOutputs:
    out = ModeOutputs("offline")
    engine = Engine(site, config, records=False)
    for e in journal.read(kinds=(*INPUT_KINDS, "config")):
        rec = e.record
        if isinstance(rec, RawMessage):
            whole = engine._whole(rec.sensor_id, rec.format)
            for s in scans_of(rec.sensor_id, rec.t, detections_of(rec), whole):
                out.take(engine.push(s))
        elif not isinstance(rec, ConfigChange) or rec.key != "runtime.start":
            out.take(engine.push(rec))
    out.zones = tuple(z.id for z in engine.pipeline.site.zones)
    return out


def collect(outputs: Iterable[Output], name: str) -> ModeOutputs:
    m = ModeOutputs(name)
    for o in outputs:
        m.take(o)
    return m
