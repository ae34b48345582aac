"""``skywarden replay``: the recorded inputs through the same machine, compared with the record.

The journal holds, in order, every input the live runtime acted on (sensor messages,
ticks, operator actions) and every output it produced (track states, alert transitions).
:func:`replay_journal` feeds the inputs in journal order to a fresh
:class:`~skywarden.runtime.engine.engine.Engine` (the code the live loop runs, time
from the record) and compares what comes out with the recorded outputs, record by record
and field by field. With the same tracker configuration the two sequences are identical;
with ``--tracker-config`` an engineer sees where another configuration departs.

A ``runtime.start`` record means a live process started: it rebuilt its state from the
journal window named in the record (``record_restore.restore_machine``) before going on. The
replay calls the same function with the same arguments, so a journal spanning restarts
replays exactly too (outputs a killed process never got to write are the difference).

Pacing: ``speed`` 0 (default) runs as fast as possible; ``speed`` X sleeps so the record's
time passes X times faster than real time. Output lines follow ``FORMAT.md`` (one snapshot
line per step, an alert line per raised or escalated alert).
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from skywarden.core.errors import ConfigError
from skywarden.core.site import Site
from skywarden.core.strict import unknown_key
from skywarden.runtime.engine.engine import Engine, Output
from skywarden.runtime.engine.pipeline import Frame, PipelineConfig
from skywarden.runtime.engine.restore import (
    INPUT_KINDS,
    START_KEY,
    code_digest,
    follow_start,
    site_in_force,
    start_info,
)
from skywarden.runtime.live.feeds import site_from_ref
from skywarden.store.journal import Journal
from skywarden.store.records import AlertRecord, ConfigChange, Record, TrackRecord

OUTPUT_KINDS = ("track", "alert")


@dataclass(frozen=True)
class Mismatch:
    index: int
    kind: str
    field: str
    recorded: Any
    replayed: Any


@dataclass
class Comparison:
    """Recorded vs replayed outputs of one kind (``track`` or ``alert``)."""

    kind: str
    recorded: int = 0
    replayed: int = 0
    equal: int = 0
    first: Mismatch | None = None

    @property
    def identical(self) -> bool:
        return self.first is None and self.recorded == self.replayed == self.equal


@dataclass
class ReplayResult:
    inputs: int = 0
    steps: int = 0
    snapshots: int = 0
    alert_lines: int = 0
    starts: int = 0
    tracks: Comparison = field(default_factory=lambda: Comparison("track"))
    alerts: Comparison = field(default_factory=lambda: Comparison("alert"))
    replayed_outputs: list[Record] = field(default_factory=list)
    recorded_outputs: list[Record] = field(default_factory=list)
    recorded_code: set[str] = field(default_factory=set)
    replay_code: str = ""

    @property
    def identical(self) -> bool:
        return self.tracks.identical and self.alerts.identical

    def summary(self) -> str:
        lines = [
            f"inputs replayed: {self.inputs}  steps: {self.steps}  runtime starts: {self.starts}",
        ]
        other = self.recorded_code - {self.replay_code}
        if other:
            lines.append(
                f"NOTE: recorded by code {', '.join(sorted(other))}, replayed with "
                f"{self.replay_code}: differences may come from the code, not the record"
            )
        for c in (self.tracks, self.alerts):
            verdict = "identical" if c.identical else "DIFFERENT"
            lines.append(
                f"{c.kind} records: recorded {c.recorded}, replayed {c.replayed}, "
                f"equal {c.equal} -> {verdict}"
            )
            if c.first is not None:
                m = c.first
                lines.append(
                    f"  first difference at {m.kind} #{m.index} field {m.field}: "
                    f"recorded {m.recorded!r} replayed {m.replayed!r}"
                )
        return "\n".join(lines)


def diff_records(a: Record, b: Record) -> str | None:
    """The first field (dataclass order) where two records differ, or None."""
    if type(a) is not type(b):
        return "kind"
    for f in fields(a):
        if getattr(a, f.name) != getattr(b, f.name):
            return f.name
    return None


def compare(kind: str, recorded: Sequence[Record], replayed: Sequence[Record]) -> Comparison:
    c = Comparison(kind, len(recorded), len(replayed))
    for i, (a, b) in enumerate(zip(recorded, replayed, strict=False)):
        name = diff_records(a, b)
        if name is not None:
            c.first = Mismatch(i, kind, name, _field(a, name), _field(b, name))
            break
        c.equal += 1
    if c.first is None and c.recorded != c.replayed:
        i = c.equal
        c.first = Mismatch(
            i,
            kind,
            "(missing)",
            recorded[i] if i < len(recorded) else None,
            replayed[i] if i < len(replayed) else None,
        )
    return c


def _field(r: Record, name: str) -> Any:
    return getattr(r, name, type(r).__name__)


def journal_site(journal: Journal) -> Site:
    """The site of the first ``runtime.start`` record that describes one."""
    for r in journal.records(kinds=["config"]):
        if isinstance(r, ConfigChange) and r.key == START_KEY and isinstance(r.new, dict):
            ref = r.new.get("site_ref")
            if ref:
                return site_from_ref(ref)
    return site_from_ref({})


def _write_frame(out: TextIO, fr: Frame, res: ReplayResult) -> None:
    for a in fr.alert_lines:
        out.write(json.dumps(a, separators=(",", ":")) + "\n")
        res.alert_lines += 1
    out.write(json.dumps(fr.snapshot_line(), separators=(",", ":")) + "\n")
    res.snapshots += 1


def replay_journal(
    journal: Journal,
    site: Site | None = None,
    config: PipelineConfig | None = None,
    from_t: float | None = None,
    to_t: float | None = None,
    speed: float = 0.0,
    out: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_output: Callable[[Output], None] | None = None,
) -> ReplayResult:
    """Replay the journal's inputs (optionally only ``[from_t, to_t]``) and compare outputs.

    With a time window the comparison covers the recorded outputs inside the window; a
    window that starts mid-run starts from an empty picture, so it matches the record only
    from where the live run's picture did too. ``on_output`` sees what the engine returned
    for each input (frames and alert events: the comparison of modes uses it).
    """
    site = site or journal_site(journal)
    if from_t is not None:
        site = site_in_force(journal, site, from_t)
    machine = Engine(site, config)
    res = ReplayResult(replay_code=code_digest())
    last_t: float | None = None
    for e in journal.read(from_t, to_t, kinds=(*INPUT_KINDS, *OUTPUT_KINDS, "config")):
        rec = e.record
        if rec.kind in OUTPUT_KINDS:
            res.recorded_outputs.append(rec)
            continue
        if isinstance(rec, ConfigChange):
            info = start_info(rec)
            if info is not None and info.get("code_digest"):
                res.recorded_code.add(str(info["code_digest"]))
            if info is not None:  # a process started here: hold the state it held
                machine, _ = follow_start(machine, journal, site, config, e.seq, info)
                res.starts += 1
            else:
                machine.feed(rec)  # a zone/whitelist edit, in force from the next step
            continue
        if speed > 0 and last_t is not None and rec.t > last_t:
            sleep((rec.t - last_t) / speed)
        last_t = rec.t if last_t is None else max(last_t, rec.t)
        res.inputs += 1
        o = machine.push(rec)
        for fr in o.frames:
            res.steps += 1
            if out is not None:
                _write_frame(out, fr, res)
        res.replayed_outputs += o.records
        if on_output is not None:
            on_output(o)
    res.tracks = compare(
        "track", _of(res.recorded_outputs, TrackRecord), _of(res.replayed_outputs, TrackRecord)
    )
    res.alerts = compare(
        "alert", _of(res.recorded_outputs, AlertRecord), _of(res.replayed_outputs, AlertRecord)
    )
    return res


def _of(recs: Iterable[Record], cls: type[Record]) -> list[Record]:
    return [r for r in recs if isinstance(r, cls)]


def _override(obj: Any, values: Mapping[str, Any], path: str) -> Any:
    """``obj`` (a frozen config dataclass) with scalar fields / nested tables replaced."""
    known = {f.name for f in fields(obj)}
    changes: dict[str, Any] = {}
    for k, v in values.items():
        where = f"{path}.{k}"
        if k not in known:
            raise unknown_key(path, k, known)
        cur = getattr(obj, k)
        changes[k] = _value(cur, v, where)
    return replace(obj, **changes)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _value(cur: Any, v: Any, where: str) -> Any:
    if is_dataclass(cur) and not isinstance(cur, type):
        if not isinstance(v, Mapping):
            raise ConfigError(where, "must be a table")
        return _override(cur, v, where)
    if isinstance(cur, bool) and isinstance(v, bool):
        return v
    if _is_num(cur) and _is_num(v):
        return float(v) if isinstance(cur, float) else v
    if isinstance(cur, str) and isinstance(v, str):
        return v
    numbers = isinstance(cur, tuple) and all(_is_num(x) for x in cur)
    if numbers and isinstance(v, list) and len(v) == len(cur) and all(_is_num(x) for x in v):
        return tuple(float(x) for x in v)
    raise ConfigError(where, f"expected a value like {cur!r}, got {v!r}")


def pipeline_config_from_file(path: str | Path) -> PipelineConfig:
    """A ``PipelineConfig`` from TOML (or JSON) tables ``[tracker]`` (with
    ``[tracker.management]``), ``[threat]`` and ``[alerts]``: scalar settings over defaults."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as e:
        raise ConfigError("(file)", str(e), str(p)) from None
    if not isinstance(data, dict):
        raise ConfigError("(file)", "must be a table", str(p))
    return pipeline_config_from_mapping(data, str(p))


def pipeline_config_from_mapping(data: Mapping[str, Any], source: str = "") -> PipelineConfig:
    """``[tracker]``, ``[threat]``, ``[alerts]`` over the defaults (also ``skywarden.toml``'s);
    an unknown key is refused with its path and the nearest valid key."""
    try:
        cfg: PipelineConfig = _override(PipelineConfig(), data, "")
    except ConfigError as e:
        raise ConfigError(e.field.lstrip("."), e.reason, source) from None
    return cfg
