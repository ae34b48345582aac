"""The runtime's ``IngestPort``: journal first (group commit), then hand on in journal order.

Every adapter (socket adapters, the JSON POST route, the simulator's feed) calls
``await port.submit(batch)`` and may acknowledge its sender only when that returns.
:class:`JournalingIngest` makes that cheap enough for thousands of messages a second:

* **Group commit.** Submissions wait in one queue; a single writer task takes everything
  that arrived while the previous commit was running, plus whatever comes within
  ``linger_s`` (a couple of milliseconds), and encodes and writes it with *one*
  ``Journal.append_encoded`` (one transaction, one fsync) in one worker-thread call, so the
  event loop keeps serving. A
  message is durable when its submit returns; if the journal refuses the batch every submit
  in it raises and nobody acknowledges.
* **One order.** After the commit the writer hands the records to ``deliver`` in journal
  (``seq``) order. The live loop consumes them in that order, which is what makes the
  journal a complete, ordered account of the runtime's inputs: a replay that feeds the same
  records in the same order through the same code reproduces the same picture.

Besides sensor messages the same queue carries the runtime's own inputs, the ones that
change the picture and so must be ordered with the messages: ticks (``TickRecord``: "step
up to time t") and operator actions (acknowledge, resolve). Outputs (track states, alert
transitions) are appended through :meth:`JournalingIngest.append` without being delivered.

A sensor message is journaled as a ``RawMessage``: ``format`` = the adapter's ``source``,
the payload bytes as received, ``parsed = detections_parsed(detections)`` (``store.records``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from skywarden.core.counters import Counters
from skywarden.core.inbound import Inbound
from skywarden.store.journal import Encoded, Journal, encode
from skywarden.store.records import RawMessage, Record, detections_parsed

log = logging.getLogger(__name__)

#: What the writer hands on after a commit: the journal seq and the input (a sensor message,
#: or one of the runtime's own input records), in seq order.
Delivered = tuple[int, "Inbound | Record"]
Deliver = Callable[[Sequence[Delivered]], Awaitable[None]]


def raw_record(m: Inbound) -> RawMessage:
    """The journal form of an accepted message."""
    return RawMessage(
        t=m.received_t,
        sensor_id=m.sensor_id,
        format=m.source,
        payload=m.payload,
        parsed=detections_parsed(m.detections),
    )


@dataclass
class _Pending:
    items: Sequence[Inbound | Record]
    deliver: bool
    done: asyncio.Future[list[int]]
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.items)


class JournalClosedError(RuntimeError):
    """The port is stopped: nothing more can be journaled (the sender must not be acked)."""


class JournalingIngest:
    """``IngestPort`` over a :class:`Journal`: group commit, then ordered delivery.

    ``deliver`` (async, called on the event loop by the single writer task, in seq order)
    receives every submitted message and every delivered runtime record after its commit;
    awaiting it is the back-pressure: a slow consumer slows the writer, which slows submits.
    """

    def __init__(
        self,
        journal: Journal,
        deliver: Deliver | None = None,
        linger_s: float = 0.002,
        max_batch: int = 5000,
    ) -> None:
        self.journal = journal
        self._deliver = deliver
        self.linger_s = linger_s
        self.max_batch = max_batch
        self.counters = Counters()
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def set_deliver(self, deliver: Deliver | None) -> None:
        self._deliver = deliver

    # ------------------------------------------------------------------ IngestPort

    async def submit(self, batch: Sequence[Inbound]) -> None:
        """Journal ``batch`` durably, then deliver it; raises if the journal refused it."""
        if not batch:
            return
        await self._enqueue(batch, deliver=True)

    # ------------------------------------------------------------------ runtime inputs/outputs

    async def submit_records(self, records: Sequence[Record]) -> list[int]:
        """Journal the runtime's own inputs (ticks, operator actions) and deliver them in order."""
        return await self._enqueue(records, deliver=True)

    async def append(self, records: Sequence[Record]) -> list[int]:
        """Journal outputs (track states, alert transitions): durable on return, not delivered."""
        if not records:
            return []
        return await self._enqueue(records, deliver=False)

    def append_nowait(self, records: Sequence[Record]) -> None:
        """Queue outputs for the next commit without waiting (failures are logged, counted)."""
        if not records or self._closed or self._queue is None:
            return
        fut: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_retrieve)
        self._queue.put_nowait(_Pending(list(records), False, fut))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed (and delivered)."""
        if self._queue is not None and self._task is not None:
            await self._queue.join()

    def rejected(self, sensor_id: str, reason: str) -> None:
        """An adapter refused a message before submitting it: count it here, by reason."""
        self.counters.inc(f"ingest.rejected.{reason}")
        self.counters.inc(f"ingest.rejected_by_sensor.{sensor_id}")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._task is None:
            self._queue = asyncio.Queue()
            self._closed = False
            self._task = asyncio.create_task(self._writer(), name="skywarden-journal-writer")

    async def stop(self) -> None:
        """Commit what is queued, then stop; later submits raise ``JournalClosedError``."""
        self._closed = True
        if self._task is None or self._queue is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _enqueue(self, items: Sequence[Inbound | Record], deliver: bool) -> list[int]:
        if self._closed or self._queue is None:
            raise JournalClosedError("the journal writer is not running")
        fut: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(list(items), deliver, fut))
        return await fut

    # ------------------------------------------------------------------ the writer

    async def _writer(self) -> None:
        """Collect a group while the previous one commits, then encode and commit it in one
        worker-thread call after that one (commits, and so seqs and deliveries, stay in
        submission order). One thread hop per group, not two: at a few hundred groups a
        second on one core the hand-offs (submit, wake, ``call_soon_threadsafe``) were a
        fifth of the server's CPU samples, more than encoding off the commit saved; the
        fsync still releases the GIL, so the loop keeps collecting meanwhile."""
        assert self._queue is not None
        q = self._queue
        previous: asyncio.Task[None] | None = None
        try:
            while True:
                group = await self._collect(q)
                if previous is not None:
                    await previous
                previous = asyncio.create_task(self._commit_and_ack(q, group))
        finally:
            if previous is not None and not previous.done():
                await previous

    async def _collect(self, q: asyncio.Queue[_Pending]) -> list[_Pending]:
        loop = asyncio.get_running_loop()
        group = [await q.get()]
        n = group[0].size
        deadline = loop.time() + self.linger_s
        while n < self.max_batch:
            if q.empty():
                wait = deadline - loop.time()
                if wait <= 0:
                    break
                try:
                    nxt = await asyncio.wait_for(q.get(), wait)
                except TimeoutError:
                    break
            else:
                nxt = q.get_nowait()
            group.append(nxt)
            n += nxt.size
        return group

    async def _commit_and_ack(self, q: asyncio.Queue[_Pending], group: list[_Pending]) -> None:
        try:
            await self._commit(group)
        finally:
            for _ in group:
                q.task_done()

    async def _commit(self, group: list[_Pending]) -> None:
        try:
            seqs = await asyncio.to_thread(_encode_and_append, self.journal, group)
        except Exception as e:  # the journal refused: nobody may acknowledge
            log.error("journal write failed (%d submissions refused): %s", len(group), e)
            self.counters.inc("journal.write_errors")
            for p in group:
                if not p.done.done():
                    p.done.set_exception(e)
            return
        self.counters.inc("journal.commits")
        self.counters.inc("journal.records", sum(p.size for p in group))
        self.counters.inc(
            "ingest.messages", sum(isinstance(it, Inbound) for p in group for it in p.items)
        )
        out: list[Delivered] = []
        i = 0
        for p in group:
            mine = seqs[i : i + p.size]
            i += p.size
            if p.deliver:
                out.extend(zip(mine, p.items, strict=True))
        if out and self._deliver is not None:
            try:
                await self._deliver(out)
            except Exception:  # the consumer's failure must not un-journal anything
                log.exception("delivering journaled inputs failed")
                self.counters.inc("journal.deliver_errors")
        for p, start in zip(group, _offsets(group), strict=True):
            if not p.done.done():
                p.done.set_result(seqs[start : start + p.size])


def _encoded(group: list[_Pending]) -> list[Encoded]:
    """Worker thread: the stored form of everything in a group, in order."""
    return encode(
        raw_record(it) if isinstance(it, Inbound) else it for p in group for it in p.items
    )


def _encode_and_append(journal: Journal, group: list[_Pending]) -> list[int]:
    """Worker thread: encode the group and commit it (one transaction); its seqs."""
    return journal.append_encoded(_encoded(group))


def _retrieve(fut: asyncio.Future[list[int]]) -> None:
    if not fut.cancelled():
        fut.exception()  # already logged and counted by the writer


def _offsets(group: list[_Pending]) -> list[int]:
    out, i = [], 0
    for p in group:
        out.append(i)
        i += p.size
    return out
