"""Rebuild the runtime's state from the journal: one function for the live restart and replay.

A live process starting on an existing journal calls :func:`restore_machine` with
``from_t = last record time - window`` and journals a ``runtime.start`` record naming what it
read (``restore_from_t``, ``restore_last_seq``). ``skywarden replay``, meeting that record,
calls the same function with the same arguments and so holds exactly the state the live
process held when it went on; this is what keeps a replay across restarts identical.

Inside the window the inputs are fed in journal order. A ``runtime.start`` record inside the
window means that process rebuilt its own state at that point: the machine is replaced by
``restore_machine`` of *that* record's range (recursively; each level reads one window
further back), then feeding goes on. Before the first such record the window starts in the
middle of a run, so the rebuilt tracks and alerts are new objects with new ids: an operator
action there names an alert of the old run, and applying it to whatever alert now has that
id could acknowledge the wrong one. Those actions are skipped (counted): such an alert comes
back raised, for the operator to see again, never silently acknowledged.

Every run tags its outputs with its start record's seq (``TrackRecord.source =
"tracker/<seq>"``, ``AlertRecord.detail["run"]``), because ids restart with each process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skywarden.core.site import Site
from skywarden.runtime.pipeline import PipelineConfig
from skywarden.runtime.record_machine import RecordMachine
from skywarden.store.journal import Journal
from skywarden.store.records import ConfigChange, OperatorAction

START_KEY = "runtime.start"
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


def start_info(rec: ConfigChange) -> dict[str, Any] | None:
    """The restore arguments of a ``runtime.start`` record (None for any other record)."""
    if rec.key != START_KEY or not isinstance(rec.new, dict):
        return None
    return rec.new


def restore_machine(
    journal: Journal,
    site: Site,
    config: PipelineConfig | None,
    from_t: float | None,
    upto_seq: int | None = None,
    on_frames: Any = None,
) -> tuple[RecordMachine, Restored]:
    """The state after feeding the journal's inputs from ``from_t`` up to ``upto_seq``.

    ``from_t`` None means nothing to restore (a fresh machine). ``on_frames(frames)`` sees
    the frames as they are stepped (the live source keeps its trails with it).
    """
    machine = RecordMachine(site, config)
    if from_t is None:
        return machine, Restored(None, 0, 0, 0, 0, 0)
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
                machine, _ = restore_machine(
                    journal,
                    site,
                    config,
                    info.get("restore_from_t"),
                    info.get("restore_last_seq"),
                )
                machine.set_run(e.seq)
                partial = False
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
    return machine, Restored(from_t, first, last, n, steps, skipped)
