"""Rebuild the runtime's state from the journal: one function for the live restart and replay.

Fast and exact path: the live loop stores a snapshot of its state every few seconds of site
time (``Journal.save_snapshot``: the :class:`Engine` after every input up to a
seq, stored by ``core.statecodec``, never pickled). :func:`restore_latest` loads the newest
one and feeds the inputs journaled after it, so
the state is the one the previous process had (same ids, same alert states) after a second
or so, however long it ran. A ``runtime.start`` of a process that restored this way is just a
new run tag: its state continued.

Without a snapshot (a new journal, or one written before snapshots existed) a window of the
record is replayed instead. A live process starting on an existing journal calls
:func:`restore_machine` with
``from_t = last record time - window`` and journals a ``runtime.start`` record naming what it
read (``restore_from_t``, ``restore_last_seq``). ``skywarden replay``, meeting that record,
calls the same function with the same arguments and so holds exactly the state the live
process held when it went on; this is what keeps a replay across restarts identical.

Inside the window the inputs are fed in journal order, zone and whitelist edits included
(the window starts with the last edit before it in force, :func:`site_in_force`). A
``runtime.start`` record inside the window means that process rebuilt its own state at that
point: the machine is replaced by ``restore_machine`` of *that* record's range (recursively;
each level reads one window further back), then feeding goes on. Before the first such
record the window starts in the middle of a run, so the rebuilt tracks and alerts are new
objects with new ids: an operator action there names an alert of the old run, and applying
it to whatever alert now has that id could acknowledge the wrong one. Those actions are
skipped (counted): such an alert comes back raised, for the operator to see again, never
silently acknowledged.

Every run tags its outputs with its start record's seq (``TrackRecord.source =
"tracker/<seq>"``, ``AlertRecord.detail["run"]``), because ids restart with each process.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skywarden.core.errors import DecodeError
from skywarden.core.site import Site
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import PipelineConfig
from skywarden.runtime.engine.site_edits import SITE_EDIT_KEY, apply_site_edit
from skywarden.runtime.engine.snapshots import decode_state, encode_state
from skywarden.store.journal import Journal
from skywarden.store.records import ConfigChange, OperatorAction

START_KEY = "runtime.start"


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the package's Python sources: journaled at every start, so a replay can
    say whether it runs the code that recorded (a different tracker explains differences)."""
    import skywarden

    root = Path(skywarden.__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


INPUT_KINDS = ("raw", "tick", "operator")


@dataclass(frozen=True)
class Restored:
    """What a restore read (seq bounds inclusive; 0 when nothing) and what it skipped."""

    from_t: float | None
    first_seq: int
    last_seq: int
    records: int
    steps: int
    actions_skipped: int
    snapshot_seq: int | None = None


def start_info(rec: ConfigChange) -> dict[str, Any] | None:
    """The restore arguments of a ``runtime.start`` record (None for any other record)."""
    if rec.key != START_KEY or not isinstance(rec.new, dict):
        return None
    return rec.new


def site_in_force(journal: Journal, site: Site, at_t: float) -> Site:
    """``site`` with the last zone/whitelist edit journaled at or before ``at_t``: a window
    restore (and a replay of one) starts with the zones the operators had set, not the site
    file's."""
    edit = None
    for e in journal.read(to_t=at_t, kinds=("config",)):
        if isinstance(e.record, ConfigChange) and e.record.key == SITE_EDIT_KEY:
            edit = e.record
    return site if edit is None else apply_site_edit(site, edit.new)


def restore_machine(
    journal: Journal,
    site: Site,
    config: PipelineConfig | None,
    from_t: float | None,
    upto_seq: int | None = None,
    on_frames: Any = None,
) -> tuple[Engine, Restored]:
    """The state after feeding the journal's inputs from ``from_t`` up to ``upto_seq``.

    ``from_t`` None means nothing to restore (a fresh machine). ``on_frames(frames)`` sees
    the frames as they are stepped (the live source keeps its trails with it).
    """
    if from_t is None:
        return Engine(site, config), Restored(None, 0, 0, 0, 0, 0)
    machine = Engine(site_in_force(journal, site, from_t), config)
    partial = True
    first = last = n = steps = skipped = 0
    for e in journal.read(from_t=from_t, kinds=(*INPUT_KINDS, "config")):
        if upto_seq is not None and e.seq > upto_seq:
            break
        last = e.seq
        rec = e.record
        if isinstance(rec, ConfigChange):
            info = start_info(rec)
            if info is not None:
                machine, rebuilt = follow_start(machine, journal, site, config, e.seq, info)
                partial = partial and not rebuilt
            else:
                machine.feed(rec)  # a zone/whitelist edit (other keys change nothing)
            continue
        first = first or e.seq
        n += 1
        if partial and isinstance(rec, OperatorAction):
            skipped += 1
            continue
        frames = machine.feed(rec)
        steps += len(frames)
        if on_frames is not None and frames:
            on_frames(frames)
    machine.drain()  # outputs of a restore were journaled by the run that made them
    machine.drain_events()  # and its alert events handed on by it
    return machine, Restored(from_t, first, last, n, steps, skipped)


def follow_start(
    machine: Engine,
    journal: Journal,
    site: Site,
    config: PipelineConfig | None,
    seq: int,
    info: dict[str, Any],
) -> tuple[Engine, bool]:
    """Do what the process whose ``runtime.start`` record (``info``, at ``seq``) did: the
    engine to go on with, and whether it was rebuilt. A process that continued from a
    snapshot kept its predecessor's state (only the run tag is new); one that restored a
    window is rebuilt from that window with the same arguments, so a restore and a replay
    hold the state it held. One function for both, so they cannot drift apart."""
    rebuilt = info.get("restore_snapshot_seq") is None
    if rebuilt:
        machine, _ = restore_machine(
            journal, site, config, info.get("restore_from_t"), info.get("restore_last_seq")
        )
    machine.set_run(seq)
    return machine, rebuilt


# ------------------------------------------------------------------ snapshots

MAGIC = b"SWR2"


def dump_state(machine: Engine, extra: dict[str, Any] | None = None) -> bytes:
    """``runtime.engine.snapshots`` with magic ``SWR2`` of ``{"machine", "extra"}``: data only,
    rebuilt from skywarden's own classes, so a snapshot row cannot run code on load (the
    pickles of ``SWR1`` could, had anyone but the runtime written the table)."""
    return encode_state({"machine": machine, "extra": extra or {}}, MAGIC)


def load_state(data: bytes) -> tuple[Engine, dict[str, Any]]:
    body = decode_state(data, MAGIC, {"machine": Engine, "extra": dict})
    machine: Engine = body["machine"]
    return machine, dict(body["extra"])


def restore_latest(
    journal: Journal,
    site: Site,
    config: PipelineConfig | None,
    window_s: float,
    on_frames: Any = None,
) -> tuple[Engine, Restored, dict[str, Any]]:
    """The live restart: the newest snapshot plus what was journaled after it, else a window.

    A snapshot is used only with the tracker configuration it was taken with (the default
    for ``config`` None); an unreadable one falls back to the window.
    """
    snap = journal.latest_snapshot() if config is None else None
    if snap is not None:
        try:
            machine, extra = load_state(snap[2])
        except DecodeError:
            snap = None
    if snap is None:
        rng = journal.time_range()
        from_t = None if rng is None else rng[1] - window_s
        m, restored = restore_machine(journal, site, config, from_t, on_frames=on_frames)
        return m, restored, {}
    seq0 = snap[0]
    first = last = n = steps = 0
    for e in journal.read(kinds=(*INPUT_KINDS, "config"), from_seq=seq0):
        last = e.seq
        rec = e.record
        if isinstance(rec, ConfigChange):
            start = start_info(rec)
            if start is not None and start.get("restore_snapshot_seq") is not None:
                machine.set_run(e.seq)
            elif start is not None:  # a process restored by window after this snapshot
                machine, _ = restore_machine(
                    journal,
                    site,
                    config,
                    start.get("restore_from_t"),
                    start.get("restore_last_seq"),
                )
                machine.set_run(e.seq)
            else:
                machine.feed(rec)  # a zone/whitelist edit
            continue
        first = first or e.seq
        n += 1
        frames = machine.feed(rec)
        steps += len(frames)
        if on_frames is not None and frames:
            on_frames(frames)
    machine.drain()
    machine.drain_events()
    return machine, Restored(None, first, last or seq0, n, steps, 0, seq0), extra
