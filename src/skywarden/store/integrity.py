"""The hash chain that makes tampering with the journal detectable, and its verifier.

Each segment carries a chain. Its start links it to the previous segment's head::

    start(s)  = SHA-256("skywarden/journal/v1" || u64 s || head(s-1))      head(0) = 32 zero bytes
    h(seq)    = SHA-256(h(seq-1) || u64 seq || u32 len(body) || body || u32 len(raw) || raw)

where ``body`` is the record's canonical JSON (UTF-8) as stored and ``raw`` the raw message
bytes (empty for other kinds); the first record of a segment chains from ``start(s)``. The
``segments`` table keeps each segment's first/last seq, count and head hash. Retention drops
whole segments and keeps their row (``dropped = 1``) with the head hash as the anchor, so the
next segment's start still checks, and writes a ``retention`` record into the chain.

What ``verify`` finds, record by record (stored hashes are checked link by link, so the first
bad seq is the tampered record itself):

* a modified record (body, bytes, or the ``t``/``kind``/``source`` columns): its hash fails;
* a deleted record: a gap in seq, and the next record's link fails;
* an inserted record: its link fails, or (when forged with a valid hash) the next one's does;
  records appended behind the journal's back disagree with the segment head.

A chain without a secret cannot stop an attacker who rewrites *everything* from some point to
the end; ``verify`` reports the head (seq and hash) so an operator can note it elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from skywarden.store.db import Database, migrate, parse_url

ZERO_HASH = bytes(32)
_DOMAIN = b"skywarden/journal/v1"


def segment_start(segment: int, prev_head: bytes) -> bytes:
    return hashlib.sha256(_DOMAIN + struct.pack(">Q", segment) + prev_head).digest()


def link_hash(prev: bytes, seq: int, body: bytes, raw: bytes | None) -> bytes:
    h = hashlib.sha256(prev)
    h.update(struct.pack(">QI", seq, len(body)))
    h.update(body)
    r = raw or b""
    h.update(struct.pack(">I", len(r)))
    h.update(r)
    return h.digest()


@dataclass(frozen=True)
class Problem:
    seq: int
    reason: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`: ``ok``, the first bad seq and why, and every problem found."""

    ok: bool
    records: int
    segments: int
    segments_dropped: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str = ""
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.records} records in {self.segments} segments "
                f"({self.segments_dropped} dropped by retention); head seq {self.head_seq} "
                f"hash {self.head_hash}"
            )
        more = f" (+{len(self.problems) - 1} more problems)" if len(self.problems) > 1 else ""
        return f"TAMPERED: first bad seq {self.first_bad_seq}: {self.reason}{more}"


def _check_columns(seq: int, t: float, kind: str, source: str, body: str) -> str | None:
    try:
        d = json.loads(body)
    except json.JSONDecodeError:
        return "body is not valid JSON: record modified"
    if not isinstance(d, dict):
        return "body is not a JSON object: record modified"
    if d.get("kind") != kind:
        return f"kind column {kind!r} differs from the hashed body: record modified"
    try:
        if float(d["t"]) != float(t):
            return f"t column {t} differs from the hashed body: record modified"
    except (KeyError, TypeError, ValueError):
        return "body has no numeric t: record modified"
    want = d.get("sensor_id") or d.get("operator") or d.get("actor") or d.get("source")
    if want is not None and str(want) != source:
        return f"source column {source!r} differs from the hashed body: record modified"
    return None


def verify_db(db: Database, max_problems: int = 100) -> VerifyResult:
    """Walk every segment and record in order and check the chain (see the module doc), in
    one read snapshot: records a live writer appends meanwhile are after the head verified
    (reported as ``head_seq``), not records "after the end of a segment"."""
    with db.snapshot():
        return _verify_db(db, max_problems)


def _verify_db(db: Database, max_problems: int) -> VerifyResult:
    problems: list[Problem] = []

    def bad(seq: int, reason: str) -> None:
        if len(problems) < max_problems:
            problems.append(Problem(seq, reason))

    segs = db.query(
        "SELECT segment, first_seq, last_seq, n, head_hash, dropped FROM segments ORDER BY segment"
    )
    prev_head = ZERO_HASH
    expected_seq = 1
    records = 0
    n_dropped = 0
    head_seq = 0
    known = {int(s[0]) for s in segs}
    stray = db.query(
        "SELECT min(seq), count(*), segment FROM journal GROUP BY segment ORDER BY segment"
    )
    for first, count, seg_no in stray:
        if int(seg_no) not in known:
            bad(int(first), f"{count} record(s) in unknown segment {seg_no}: inserted")
    for seg_no, first_seq, last_seq, n, head_hash, dropped in segs:
        seg_no, first_seq, last_seq, n = int(seg_no), int(first_seq), int(last_seq), int(n)
        head_hash = bytes(head_hash)
        if first_seq != expected_seq:
            bad(first_seq, f"segment {seg_no} starts at seq {first_seq}, expected {expected_seq}")
        if dropped:
            n_dropped += 1
            left = db.query("SELECT min(seq) FROM journal WHERE segment = ?", (seg_no,))
            if left[0][0] is not None:
                bad(int(left[0][0]), f"records present in segment {seg_no} marked dropped")
            prev_head, expected_seq = head_hash, last_seq + 1
            head_seq = max(head_seq, last_seq)
            continue
        h = segment_start(seg_no, prev_head)
        seq_next = first_seq
        count = 0
        last_seen = first_seq - 1
        while True:
            rows = db.query(
                "SELECT seq, t, kind, source, body, raw, hash FROM journal "
                "WHERE segment = ? AND seq > ? ORDER BY seq LIMIT 2000",
                (seg_no, last_seen),
            )
            if not rows:
                break
            for seq, t, kind, source, body, raw, stored in rows:
                seq = int(seq)
                last_seen = seq
                count += 1
                stored = bytes(stored)
                if seq != seq_next:
                    missing = f"{seq_next}" if seq == seq_next + 1 else f"{seq_next}..{seq - 1}"
                    bad(seq_next, f"record(s) {missing} missing: deleted")
                why = _check_columns(seq, float(t), str(kind), str(source), str(body))
                if why:
                    bad(seq, why)
                raw_b = None if raw is None else bytes(raw)
                if link_hash(h, seq, str(body).encode("utf-8"), raw_b) != stored:
                    if seq != seq_next:
                        bad(seq, "chain link broken after the gap")
                    else:
                        bad(seq, "hash mismatch: record modified, or a record inserted before it")
                h = stored
                seq_next = seq + 1
        records += count
        if seq_next - 1 > last_seq:
            bad(
                last_seq + 1,
                f"records after the end of segment {seg_no} (seq {last_seq}): inserted",
            )
        elif seq_next - 1 < last_seq:
            bad(seq_next, f"records {seq_next}..{last_seq} ending segment {seg_no}: deleted")
        elif count != n:
            bad(last_seq, f"segment {seg_no} holds {count} records, its index says {n}")
        elif h != head_hash:
            bad(last_seq, f"segment {seg_no} head hash differs from its last record")
        prev_head, expected_seq = head_hash, last_seq + 1
        head_seq = max(head_seq, last_seq)
    problems.sort(key=lambda p: p.seq)
    first = problems[0] if problems else None
    return VerifyResult(
        ok=not problems,
        records=records,
        segments=len(segs),
        segments_dropped=n_dropped,
        head_seq=head_seq,
        head_hash=prev_head.hex(),
        first_bad_seq=first.seq if first else None,
        reason=first.reason if first else "",
        problems=tuple(problems),
    )


def verify(url: str) -> VerifyResult:
    """Open the journal at ``url`` read-only in spirit and check its hash chain."""
    u = parse_url(url)
    if u.dialect == "sqlite" and not Path(u.target).is_file():
        raise FileNotFoundError(f"no journal at {u.target}")
    db = Database(u)
    try:
        migrate(db)
        return verify_db(db)
    finally:
        db.close()
