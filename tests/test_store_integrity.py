"""verify() finds a modified, deleted or inserted record on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from record_helpers import BACKENDS, journal_url
from skywarden.store.db import Database, parse_url
from skywarden.store.integrity import link_hash, verify
from skywarden.store.journal import RetentionPolicy, open_journal
from skywarden.store.records import RawMessage


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A journal with 30 raw messages in segments of 8, on the parametrised backend."""
    for u in journal_url(request.param, tmp_path, "j", segment_records=8):
        with open_journal(u) as j:
            j.append_many(
                [
                    RawMessage(float(i), "radar-1", "skybench/1", b"m%d" % i, {"i": i})
                    for i in range(1, 31)
                ]
            )
        yield u


Tamper = Callable[[Database], None]


def tamper(url: str, fn: Tamper) -> None:
    db = Database(parse_url(url))
    try:
        with db.write():
            fn(db)
    finally:
        db.close()


def test_clean_journal_verifies(url: str) -> None:
    r = verify(url)
    assert r.ok, r.summary()
    assert r.records == 30 and r.segments == 4 and r.head_seq == 30
    assert "OK" in r.summary()


def test_modified_body_detected(url: str) -> None:
    def fn(db: Database) -> None:
        body = json.loads(db.query("SELECT body FROM journal WHERE seq = 12")[0][0])
        body["parsed"] = {"i": 999}
        db.execute(
            "UPDATE journal SET body = ? WHERE seq = 12",
            (json.dumps(body, sort_keys=True, separators=(",", ":")),),
        )

    tamper(url, fn)
    r = verify(url)
    assert not r.ok and r.first_bad_seq == 12
    assert "modified" in r.reason


def test_modified_raw_bytes_detected(url: str) -> None:
    tamper(url, lambda db: db.execute("UPDATE journal SET raw = ? WHERE seq = 3", (b"forged",)))
    r = verify(url)
    assert not r.ok and r.first_bad_seq == 3


def test_modified_time_column_detected(url: str) -> None:
    tamper(url, lambda db: db.execute("UPDATE journal SET t = 1000.0 WHERE seq = 20"))
    r = verify(url)
    assert not r.ok and r.first_bad_seq == 20 and "t column" in r.reason


def test_deleted_record_detected(url: str) -> None:
    tamper(url, lambda db: db.execute("DELETE FROM journal WHERE seq = 10"))
    r = verify(url)
    assert not r.ok and r.first_bad_seq == 10
    assert "missing" in r.reason and "deleted" in r.reason


def test_deleted_last_record_detected(url: str) -> None:
    tamper(url, lambda db: db.execute("DELETE FROM journal WHERE seq = 30"))
    r = verify(url)
    assert not r.ok and r.first_bad_seq == 30


def test_inserted_record_with_forged_hash_detected(url: str) -> None:
    """A careful forger renumbers 15.. up by one and inserts seq 15 with a valid link."""

    def fn(db: Database) -> None:
        rows = db.query("SELECT seq FROM journal WHERE seq >= 15 ORDER BY seq DESC")
        for (seq,) in rows:
            db.execute("UPDATE journal SET seq = ? WHERE seq = ?", (int(seq) + 1, int(seq)))
        seg, prev = db.query("SELECT segment, hash FROM journal WHERE seq = 14")[0]
        body = json.dumps(
            {
                "format": "skybench/1",
                "kind": "raw",
                "parsed": {"i": -1},
                "sensor_id": "radar-1",
                "t": 14.5,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        h = link_hash(bytes(prev), 15, body.encode(), b"forged")
        db.execute(
            "INSERT INTO journal (seq, segment, t, kind, source, body, raw, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (15, seg, 14.5, "raw", "radar-1", body, b"forged", h),
        )

    tamper(url, fn)
    r = verify(url)
    assert not r.ok
    assert r.first_bad_seq == 16  # the record after the forgery no longer links
    assert "inserted" in r.reason


def test_inserted_record_in_gap_detected(url: str) -> None:
    def fn(db: Database) -> None:
        db.execute("DELETE FROM journal WHERE seq = 5")
        db.execute(
            "INSERT INTO journal (seq, segment, t, kind, source, body, raw, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (5, 1, 5.0, "raw", "radar-1", '{"kind":"raw","t":5.0}', None, b"\x00" * 32),
        )

    tamper(url, fn)
    r = verify(url)
    assert not r.ok and r.first_bad_seq == 5


def test_appended_behind_the_journals_back_detected(url: str) -> None:
    def fn(db: Database) -> None:
        seg, prev = db.query("SELECT segment, hash FROM journal WHERE seq = 30")[0]
        body = '{"format":"x","kind":"raw","parsed":null,"sensor_id":"radar-1","t":31.0}'
        h = link_hash(bytes(prev), 31, body.encode(), b"")
        db.execute(
            "INSERT INTO journal (seq, segment, t, kind, source, body, raw, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (31, seg, 31.0, "raw", "radar-1", body, b"", h),
        )

    tamper(url, fn)
    r = verify(url)
    assert not r.ok and r.first_bad_seq == 31


def test_dropped_segment_anchor_tampering_detected(url: str) -> None:
    with open_journal(url) as j:
        res = j.apply_retention(RetentionPolicy(max_age_s=10.0), now=30.0)
        assert [s.segment for s in res.dropped] == [1, 2]
    assert verify(url).ok
    tamper(
        url,
        lambda db: db.execute(
            "UPDATE segments SET head_hash = ? WHERE segment = 2", (b"\x01" * 32,)
        ),
    )
    r = verify(url)
    assert not r.ok and r.first_bad_seq == 17  # first record of segment 3 no longer links


def test_verify_while_a_writer_appends_checks_up_to_a_consistent_head(url: str) -> None:
    """A service appending while the journal is verified: the records it adds after the
    verifier read the segment index are past the head verified, not "inserted". The writer
    appends in the middle of the walk (after the index was read), where the race bit."""
    db = Database(parse_url(url))
    writer = open_journal(url)
    real_query = db.query
    appended = []

    def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        rows = real_query(sql, params)
        if "FROM journal" in sql and not appended:  # the index is read: now a writer appends
            writer.append_many(
                [RawMessage(100.0 + i, "radar-1", "skybench/1", b"n%d" % i, {}) for i in range(12)]
            )
            appended.append(True)
        return rows

    db.query = query  # type: ignore[method-assign]
    try:
        from skywarden.store.integrity import _verify_db, verify_db

        r = verify_db(db)
        assert appended and r.ok, r.summary()
        assert r.head_seq == 30 and r.records == 30  # the head as of the snapshot
        # the same walk without the snapshot reports the appended tail as tampering
        appended.clear()
        raced = _verify_db(db, 100)
        assert not raced.ok
    finally:
        writer.close()
        db.close()
    after = verify(url)
    assert after.ok and after.head_seq == 54  # and the appended records check afterwards
