"""The journal: an append-only, hash-chained record of everything the system saw and did.

``open_journal(url)`` returns a :class:`Journal` on SQLite (default, WAL) or PostgreSQL (see
``store.db`` for URLs and the durability argument). ``append``/``append_many`` return only
after the transaction is committed to stable storage, so a caller may acknowledge a message
as soon as they return. Records are numbered by ``seq`` (1, 2, ... with no gaps) and grouped
into segments, the unit of retention; each segment carries a hash chain (``store.integrity``).

Segments roll when they reach ``segment_records`` records or span more than
``segment_span_s`` seconds of record time. Writers serialise on a lock
(SQLite: the database write lock; PostgreSQL: an advisory lock), so several processes may
append to one journal.

Retention (:meth:`Journal.apply_retention`) drops whole sealed segments older than
``max_age_s`` or beyond ``max_bytes`` (oldest first), never the open segment, never a segment
younger than ``floor_s`` and never one overlapping an incident window marked with
:meth:`Journal.mark_incident`; the dropped segments keep their index row as the chain anchor
and a ``retention`` record notes the drop inside the chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from skywarden.store.db import Database, migrate, parse_url
from skywarden.store.integrity import ZERO_HASH, VerifyResult, link_hash, segment_start, verify_db
from skywarden.store.records import (
    OperatorAction,
    Record,
    RetentionRecord,
    body_of,
    record_from_dict,
)

DEFAULT_SEGMENT_RECORDS = 50_000
DEFAULT_SEGMENT_SPAN_S = 3600.0


@dataclass(frozen=True)
class Entry:
    """A record as stored: its sequence number and segment."""

    seq: int
    segment: int
    record: Record


@dataclass(frozen=True)
class Encoded:
    """A record in its stored form (canonical body text and bytes, raw payload)."""

    t: float
    kind: str
    source: str
    body: str
    body_bytes: bytes
    raw: bytes | None


def encode(records: Iterable[Record]) -> list[Encoded]:
    """The stored form of ``records``: pure, so it can run outside the journal's lock."""
    out = []
    for rec in records:
        body, raw = body_of(rec)
        out.append(Encoded(float(rec.t), rec.kind, rec.source, body, body.encode("utf-8"), raw))
    return out


@dataclass(frozen=True)
class Incident:
    id: int
    t_from: float
    t_to: float
    label: str
    marked_by: str
    marked_t: float


@dataclass(frozen=True)
class RetentionPolicy:
    """``max_age_s``/``max_bytes`` (None: no limit); ``floor_s``: always keep this much recent
    data; ``incident_margin_s``: extra time kept either side of every incident window."""

    max_age_s: float | None = None
    max_bytes: int | None = None
    floor_s: float = 0.0
    incident_margin_s: float = 300.0


@dataclass(frozen=True)
class SegmentInfo:
    segment: int
    first_seq: int
    last_seq: int
    n: int
    t_min: float | None
    t_max: float | None
    nbytes: int
    head_hash: bytes
    sealed: bool
    dropped: bool


@dataclass(frozen=True)
class RetentionResult:
    dropped: tuple[SegmentInfo, ...]
    kept_for_incidents: tuple[int, ...]
    bytes_before: int
    bytes_after: int


_SEG_COLS = "segment, first_seq, last_seq, n, t_min, t_max, nbytes, head_hash, sealed, dropped"


def _seg(r: Sequence[Any]) -> SegmentInfo:
    return SegmentInfo(
        int(r[0]),
        int(r[1]),
        int(r[2]),
        int(r[3]),
        None if r[4] is None else float(r[4]),
        None if r[5] is None else float(r[5]),
        int(r[6]),
        bytes(r[7]),
        bool(r[8]),
        bool(r[9]),
    )


class Journal:
    """Append-only record store. Thread-safe (one connection behind a lock)."""

    def __init__(
        self,
        db: Database,
        segment_records: int = DEFAULT_SEGMENT_RECORDS,
        segment_span_s: float = DEFAULT_SEGMENT_SPAN_S,
    ) -> None:
        if segment_records < 1 or segment_span_s <= 0:
            raise ValueError("segment_records must be >= 1 and segment_span_s > 0")
        self._db = db
        self.segment_records = segment_records
        self.segment_span_s = segment_span_s
        self.schema_version = migrate(db)
        with db.write():
            db.execute(
                "INSERT INTO segments (segment, first_seq, last_seq, n, t_min, t_max, nbytes, "
                "head_hash, sealed, dropped) SELECT 1, 1, 0, 0, NULL, NULL, 0, ?, 0, 0 "
                "WHERE NOT EXISTS (SELECT 1 FROM segments)",
                (segment_start(1, ZERO_HASH),),
            )

    @property
    def dialect(self) -> str:
        return self._db.dialect

    @property
    def database(self) -> Database:
        """The connection, for the tables that live beside the chain (``store.accounts``)."""
        return self._db

    # ------------------------------------------------------------------ writing

    def append(self, record: Record) -> int:
        """Write one record; durable when this returns. Returns its seq."""
        return self.append_many([record])[0]

    def append_many(self, records: Iterable[Record]) -> list[int]:
        """Write records in one transaction (one fsync); durable on return. Returns their seqs."""
        return self.append_encoded(encode(records))

    def append_encoded(self, items: Sequence[Encoded]) -> list[int]:
        """Like :meth:`append_many` for records already :func:`encode`-d (a writer can encode
        the next batch in another thread while this one commits)."""
        if not items:
            return []
        with self._db.write():
            return self._append_in_tx(items)

    def _append_in_tx(self, recs: Sequence[Record | Encoded]) -> list[int]:
        db = self._db
        seqs: list[int] = []
        db.lock_writers()
        cur = _seg(
            db.query(
                f"SELECT {_SEG_COLS} FROM segments WHERE segment = "
                "(SELECT max(segment) FROM segments)"
            )[0]
        )
        seg, first, n, nbytes = cur.segment, cur.first_seq, cur.n, cur.nbytes
        t_min, t_max, h = cur.t_min, cur.t_max, cur.head_hash
        seq = cur.last_seq
        rows: list[tuple[Any, ...]] = []
        for item in recs:
            rec = item if isinstance(item, Encoded) else encode([item])[0]
            t = rec.t
            span_lo = t if t_min is None else min(t_min, t)
            span_hi = t if t_max is None else max(t_max, t)
            if n > 0 and (n >= self.segment_records or span_hi - span_lo > self.segment_span_s):
                if rows:
                    self._insert(rows)
                    rows = []
                db.execute(
                    "UPDATE segments SET last_seq = ?, n = ?, t_min = ?, t_max = ?, "
                    "nbytes = ?, head_hash = ?, sealed = 1 WHERE segment = ?",
                    (seq, n, t_min, t_max, nbytes, h, seg),
                )
                seg, first, n, nbytes = seg + 1, seq + 1, 0, 0
                t_min = t_max = None
                h = segment_start(seg, h)
                db.execute(
                    "INSERT INTO segments (segment, first_seq, last_seq, n, t_min, t_max, "
                    "nbytes, head_hash, sealed, dropped) VALUES (?, ?, ?, 0, NULL, NULL, 0, "
                    "?, 0, 0)",
                    (seg, first, seq, h),
                )
                span_lo = span_hi = t
            seq += 1
            body, raw, b = rec.body, rec.raw, rec.body_bytes
            h = link_hash(h, seq, b, raw)
            rows.append((seq, seg, t, rec.kind, rec.source, body, raw, h))
            seqs.append(seq)
            n += 1
            nbytes += len(b) + (len(raw) if raw else 0)
            t_min, t_max = span_lo, span_hi
        if rows:
            self._insert(rows)
        db.execute(
            "UPDATE segments SET last_seq = ?, n = ?, t_min = ?, t_max = ?, nbytes = ?, "
            "head_hash = ? WHERE segment = ?",
            (seq, n, t_min, t_max, nbytes, h, seg),
        )
        return seqs

    def _insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._db.executemany(
            "INSERT INTO journal (seq, segment, t, kind, source, body, raw, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    # ------------------------------------------------------------------ reading

    def read(
        self,
        from_t: float | None = None,
        to_t: float | None = None,
        kinds: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
        from_seq: int = 0,
        page: int = 2000,
    ) -> Iterator[Entry]:
        """Records with ``from_t <= t <= to_t`` (either bound optional), in seq order.

        ``kinds`` filters by record kind (``raw``, ``track``, ...), ``sources`` by sensor id /
        actor. Streams page by page; appends made while iterating may or may not be seen.
        """
        where = ["seq > ?"]
        params: list[Any] = []
        if from_t is not None:
            where.append("t >= ?")
            params.append(float(from_t))
        if to_t is not None:
            where.append("t <= ?")
            params.append(float(to_t))
        for col, vals in (("kind", kinds), ("source", sources)):
            if vals is not None:
                vs = list(vals)
                if not vs:
                    return
                where.append(f"{col} IN ({', '.join('?' for _ in vs)})")
                params.extend(vs)
        sql = (
            "SELECT seq, segment, body, raw FROM journal WHERE "
            + " AND ".join(where)
            + f" ORDER BY seq LIMIT {int(page)}"
        )
        last = from_seq
        while True:
            with self._db.lock:
                rows = self._db.query(sql, [last, *params])
            for seq, seg, body, raw in rows:
                d = json.loads(body)
                yield Entry(
                    int(seq), int(seg), record_from_dict(d, None if raw is None else bytes(raw))
                )
            if len(rows) < page:
                return
            last = int(rows[-1][0])

    def records(
        self,
        from_t: float | None = None,
        to_t: float | None = None,
        kinds: Iterable[str] | None = None,
    ) -> Iterator[Record]:
        """Like :meth:`read`, the records alone."""
        for e in self.read(from_t, to_t, kinds):
            yield e.record

    def head(self) -> tuple[int, bytes]:
        """(last seq, chain head hash)."""
        with self._db.lock:
            r = self._db.query(
                "SELECT last_seq, head_hash FROM segments ORDER BY segment DESC LIMIT 1"
            )[0]
        return int(r[0]), bytes(r[1])

    def segments(self) -> list[SegmentInfo]:
        with self._db.lock:
            rows = self._db.query(f"SELECT {_SEG_COLS} FROM segments ORDER BY segment")
        return [_seg(r) for r in rows]

    def time_range(self) -> tuple[float, float] | None:
        with self._db.lock:
            r = self._db.query("SELECT min(t), max(t) FROM journal")[0]
        return None if r[0] is None else (float(r[0]), float(r[1]))

    def verify(self) -> VerifyResult:
        with self._db.lock:
            return verify_db(self._db)

    # ------------------------------------------------------------------ snapshots

    def save_snapshot(self, seq: int, t: float, data: bytes, keep: int = 3) -> None:
        """Store the runtime's state after every input up to ``seq`` (a restart cache: not part
        of the record or its hash chain; only the newest ``keep`` are kept)."""
        with self._db.write():
            self._db.execute("DELETE FROM snapshots WHERE seq = ?", (int(seq),))
            self._db.execute(
                "INSERT INTO snapshots (seq, t, data) VALUES (?, ?, ?)", (int(seq), float(t), data)
            )
            rows = self._db.query("SELECT seq FROM snapshots ORDER BY seq DESC")
            for (old,) in rows[keep:]:
                self._db.execute("DELETE FROM snapshots WHERE seq = ?", (int(old),))

    def latest_snapshot(self, upto_seq: int | None = None) -> tuple[int, float, bytes] | None:
        """(seq, t, data) of the newest snapshot at or before ``upto_seq``, or None."""
        sql = "SELECT seq, t, data FROM snapshots"
        params: list[Any] = []
        if upto_seq is not None:
            sql += " WHERE seq <= ?"
            params.append(int(upto_seq))
        with self._db.lock:
            rows = self._db.query(sql + " ORDER BY seq DESC LIMIT 1", params)
        if not rows:
            return None
        seq, t, data = rows[0]
        return int(seq), float(t), bytes(data)

    # ------------------------------------------------------------------ incidents, retention

    def mark_incident(self, t_from: float, t_to: float, label: str, by: str, t: float) -> int:
        """Protect ``[t_from, t_to]`` from retention; journaled as an operator action."""
        if t_to < t_from:
            raise ValueError("incident window ends before it starts")
        with self._db.write():
            self._db.lock_writers()
            r = self._db.query("SELECT coalesce(max(id), 0) FROM incidents")
            iid = int(r[0][0]) + 1
            self._db.execute(
                "INSERT INTO incidents (id, t_from, t_to, label, marked_by, marked_t) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (iid, float(t_from), float(t_to), label, by, float(t)),
            )
            detail = {"incident_id": iid, "t_from": t_from, "t_to": t_to, "label": label}
            self._append_in_tx([OperatorAction(t, by, "mark_incident", f"incident:{iid}", detail)])
        return iid

    def incidents(self) -> list[Incident]:
        with self._db.lock:
            rows = self._db.query(
                "SELECT id, t_from, t_to, label, marked_by, marked_t FROM incidents ORDER BY id"
            )
        return [
            Incident(int(a), float(b), float(c), str(d), str(e), float(f))
            for a, b, c, d, e, f in rows
        ]

    def apply_retention(
        self, policy: RetentionPolicy, now: float, actor: str = "retention"
    ) -> RetentionResult:
        """Drop whole sealed segments per ``policy`` at time ``now`` (see the module doc)."""
        incidents = self.incidents()
        m = policy.incident_margin_s
        segs = [s for s in self.segments() if not s.dropped]
        live_bytes = sum(s.nbytes for s in segs)
        protected: set[int] = set()
        for s in segs:
            if s.t_min is None or s.t_max is None:
                continue
            if any(s.t_min <= i.t_to + m and s.t_max >= i.t_from - m for i in incidents):
                protected.add(s.segment)
        candidates = [
            s
            for s in segs
            if s.sealed
            and s.t_max is not None
            and s.segment not in protected
            and s.t_max < now - policy.floor_s
        ]
        drop: list[SegmentInfo] = []
        if policy.max_age_s is not None:
            drop = [
                s for s in candidates if s.t_max is not None and s.t_max < now - policy.max_age_s
            ]
        remaining = live_bytes - sum(s.nbytes for s in drop)
        if policy.max_bytes is not None:
            for s in candidates:
                if remaining <= policy.max_bytes:
                    break
                if s not in drop:
                    drop.append(s)
                    remaining -= s.nbytes
        over_budget = policy.max_bytes is not None and remaining > policy.max_bytes

        def spared(s: SegmentInfo) -> bool:
            if s.segment not in protected or not s.sealed or s.t_max is None:
                return False
            aged = policy.max_age_s is not None and s.t_max < now - policy.max_age_s
            return aged or over_budget

        kept_for_incidents = tuple(s.segment for s in segs if spared(s))
        drop.sort(key=lambda s: s.segment)
        if drop:
            note = RetentionRecord(
                now,
                actor,
                tuple((s.segment, s.first_seq, s.last_seq, s.head_hash.hex()) for s in drop),
                reason=_policy_text(policy),
            )
            with self._db.write():
                self._db.lock_writers()
                for s in drop:
                    self._db.execute("DELETE FROM journal WHERE segment = ?", (s.segment,))
                    self._db.execute(
                        "UPDATE segments SET dropped = 1 WHERE segment = ?", (s.segment,)
                    )
                self._append_in_tx([note])
        return RetentionResult(
            tuple(drop), kept_for_incidents, live_bytes, live_bytes - sum(s.nbytes for s in drop)
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _policy_text(p: RetentionPolicy) -> str:
    return (
        f"max_age_s={p.max_age_s} max_bytes={p.max_bytes} floor_s={p.floor_s} "
        f"incident_margin_s={p.incident_margin_s}"
    )


def open_journal(
    url: str,
    segment_records: int | None = None,
    segment_span_s: float | None = None,
) -> Journal:
    """Open (creating and migrating as needed) the journal at ``url`` (see ``store.db``)."""
    u = parse_url(url)
    if segment_records is None:
        segment_records = int(u.options.get("segment_records", DEFAULT_SEGMENT_RECORDS))
    if segment_span_s is None:
        segment_span_s = float(u.options.get("segment_span_s", DEFAULT_SEGMENT_SPAN_S))
    db = Database(u)
    try:
        return Journal(db, segment_records, segment_span_s)
    except BaseException:
        db.close()
        raise
