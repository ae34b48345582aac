"""The engine under its older name: ``RecordMachine`` is :class:`~skywarden.runtime.engine.Engine`.

Kept so code and snapshots that name ``skywarden.runtime.record_machine.RecordMachine`` (the
cluster's workers, snapshots written before the engine had its own module) go on working;
new code imports ``skywarden.runtime.engine``.
"""

from __future__ import annotations

from skywarden.runtime.engine import (
    OPERATOR_ACTIONS,
    WHOLE_SCAN_SOURCES,
    Engine,
    Output,
    alert_record,
    scans_of,
)

RecordMachine = Engine

__all__ = [
    "OPERATOR_ACTIONS",
    "WHOLE_SCAN_SOURCES",
    "Engine",
    "Output",
    "RecordMachine",
    "alert_record",
    "scans_of",
]
