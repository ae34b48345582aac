"""Every state change an operator makes, recorded: the ``AuditSink`` protocol and two sinks.

The service writes one record per change *before* it answers: an ``OperatorAction`` for what an
operator did (login, logout, acknowledge, resolve, token issue) and a ``ConfigChange`` for what
changed the configuration (zones, whitelist, sensor tokens, users), both the journal's own
record types (``store.records``), so the runtime can plug the journal in unchanged:
``JournalAudit(journal)`` appends them to a ``store.journal.Journal`` (hash-chained, so an
audit trail cannot be edited silently). ``MemoryAudit`` keeps the last ``maxlen`` records;
the app always keeps one for ``GET /api/audit`` and forwards to the configured sink as well.

A sink that raises makes the request fail (HTTP 500): an action that cannot be audited is not
reported as done. Secrets (passwords, tokens) never enter a record.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from skywarden.store.journal import Journal
from skywarden.store.records import ConfigChange, OperatorAction

AuditRecord = OperatorAction | ConfigChange


class AuditSink(Protocol):
    def record(self, entry: AuditRecord) -> None: ...


class MemoryAudit:
    """The last ``maxlen`` records, oldest first."""

    def __init__(self, maxlen: int = 1000) -> None:
        self._entries: deque[AuditRecord] = deque(maxlen=maxlen)

    def record(self, entry: AuditRecord) -> None:
        self._entries.append(entry)

    def entries(self) -> list[AuditRecord]:
        return list(self._entries)


class JournalAudit:
    """Appends each record to the journal (durably: ``Journal.append`` commits)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def record(self, entry: AuditRecord) -> None:
        self.journal.append(entry)


class Auditor:
    """What the routes call: the recent in-memory list plus the configured sink, if any."""

    def __init__(self, sink: AuditSink | None = None, recent: int = 1000) -> None:
        self.recent = MemoryAudit(recent)
        self.sink = sink

    def record(self, entry: AuditRecord) -> None:
        if self.sink is not None:
            self.sink.record(entry)
        self.recent.record(entry)
