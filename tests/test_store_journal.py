"""The journal on both backends: round trip, windows, segments, migrations, retention."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from skywarden.core.track import TrackState, TrackStatus
from skywarden.store.db import LATEST_VERSION, Database, migrate, parse_url, schema_version
from skywarden.store.journal import RetentionPolicy, open_journal
from skywarden.store.records import (
    AlertRecord,
    ConfigChange,
    OperatorAction,
    RawMessage,
    Record,
    RetentionRecord,
    TrackRecord,
    record_from_json,
    record_to_json,
)
from support.postgres import drop_postgres_schema, fresh_postgres_url, postgres_base_url

UrlFactory = Callable[..., str]


@pytest.fixture(params=["sqlite", "postgresql"])
def make_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UrlFactory]:
    """A factory of fresh journal URLs on the parametrised backend (own file / own schema)."""
    made: list[str] = []
    if request.param == "postgresql":
        base, why = postgres_base_url()
        if base is None:
            pytest.skip(why or "PostgreSQL unavailable")

        def mk(**opts: str | int | float) -> str:
            assert base is not None
            u = fresh_postgres_url(base, **opts)
            made.append(u)
            return u
    else:
        counter = iter(range(1000))

        def mk(**opts: str | int | float) -> str:
            q = "&".join(f"{k}={v}" for k, v in opts.items())
            return f"sqlite://{tmp_path}/j{next(counter)}.sqlite" + (f"?{q}" if q else "")

    yield mk
    for u in made:
        drop_postgres_schema(u)


def raw(i: int, t: float | None = None, sensor: str = "radar-1") -> RawMessage:
    payload = f'{{"type":"detections","t":{i},"n":{i}}}'.encode() + bytes([i % 256])
    return RawMessage(float(i) if t is None else t, sensor, "skybench/1", payload, {"n": i})


def sample_records(t0: float = 100.0) -> list[Record]:
    ts = TrackState(
        id="T7",
        t=t0 + 1.5,
        x=np.array([10.0, 20.0, 30.0, 1.0, -2.0, 0.5]),
        P=np.eye(6) * 3.0,
        status=TrackStatus.CONFIRMED,
        identity="1581F4XFC228R00B2B4A",
        class_probs={"drone": 0.8, "bird": 0.2},
        sensors=("radar-1", "rid-1"),
        hits=5,
        score=2.5,
        first_t=t0,
        mode_probs=(0.9, 0.1),
    )
    return [
        raw(1, t0),
        TrackRecord.from_state(ts),
        AlertRecord(t0 + 2, "A1", "T7", "alert", None, "residence", "high", "entered zone"),
        OperatorAction(t0 + 3, "alice", "ack", "A1", {"note": "seen"}),
        ConfigChange(t0 + 4, "bob", "tracker.gate", 9.2, 11.3, "tuning"),
        RawMessage(t0 + 5, "rf-1", "sapient", b"\x00\xff\x10binary", None),
    ]


def test_records_json_round_trip() -> None:
    for rec in sample_records():
        assert record_from_json(record_to_json(rec)) == rec
    tr = sample_records()[1]
    assert isinstance(tr, TrackRecord)
    st = tr.to_state()
    assert st.status is TrackStatus.CONFIRMED and st.P.shape == (6, 6) and st.P[0, 0] == 3.0
    assert tr.best_class == "drone"


def test_url_parsing() -> None:
    assert parse_url("sqlite:///var/j.sqlite").target == "/var/j.sqlite"
    assert parse_url("sqlite:////var/j.sqlite").target == "/var/j.sqlite"
    assert parse_url("sqlite:rel/j.sqlite").target == "rel/j.sqlite"
    assert parse_url("/tmp/x.sqlite?synchronous=NORMAL").options == {"synchronous": "NORMAL"}
    u = parse_url("postgresql://postgres@127.0.0.1:5432/test?schema=abc&connect_timeout=3")
    assert u.dialect == "postgresql" and u.schema == "abc"
    assert "schema" not in u.target and "connect_timeout=3" in u.target


def test_append_read_round_trip(make_url: UrlFactory) -> None:
    recs = sample_records()
    with open_journal(make_url()) as j:
        assert j.append(recs[0]) == 1
        assert j.append_many(recs[1:]) == [2, 3, 4, 5, 6]
        got = list(j.read())
        assert [e.seq for e in got] == [1, 2, 3, 4, 5, 6]
        assert [e.record for e in got] == recs
        assert j.head()[0] == 6
        assert j.verify().ok


def test_read_windows_and_kinds(make_url: UrlFactory) -> None:
    with open_journal(make_url()) as j:
        j.append_many([raw(i) for i in range(1, 301)])
        j.append(OperatorAction(150.5, "alice", "ack", "A1"))
        window = list(j.read(100.0, 199.0, kinds=["raw"]))
        assert [e.record.t for e in window] == [float(i) for i in range(100, 200)]
        ops = list(j.read(kinds=["operator"]))
        assert len(ops) == 1 and isinstance(ops[0].record, OperatorAction)
        assert len(list(j.read(page=7))) == 301
        assert list(j.read(kinds=[])) == []
        assert len(list(j.read(sources=["alice"]))) == 1
        assert j.time_range() == (1.0, 300.0)


def test_reopen_continues_sequence_and_chain(make_url: UrlFactory) -> None:
    url = make_url(segment_records=4)
    with open_journal(url) as j:
        j.append_many([raw(i) for i in range(1, 11)])
    with open_journal(url) as j:
        assert j.append(raw(11)) == 11
        segs = j.segments()
        assert [(s.first_seq, s.last_seq) for s in segs] == [(1, 4), (5, 8), (9, 11)]
        assert [s.sealed for s in segs] == [True, True, False]
        assert j.verify().ok


def test_segments_roll_by_time_span(make_url: UrlFactory) -> None:
    with open_journal(make_url(segment_span_s=10)) as j:
        j.append_many([raw(i, t=float(i) * 4.0) for i in range(1, 11)])  # t = 4..40
        spans = [(s.t_min, s.t_max) for s in j.segments()]
        assert all(hi - lo <= 10 for lo, hi in spans if lo is not None and hi is not None)
        assert len(spans) >= 3
        assert j.verify().ok


def test_migrations_are_versioned_and_resume(make_url: UrlFactory) -> None:
    url = make_url()
    db = Database(parse_url(url))
    try:
        assert migrate(db, upto=1) == 1
        assert schema_version(db) == 1
    finally:
        db.close()
    with open_journal(url) as j:
        assert j.schema_version == LATEST_VERSION >= 2
        j.append(raw(1))
    with open_journal(url) as j:  # idempotent
        assert j.schema_version == LATEST_VERSION


def test_retention_by_age_keeps_incidents_and_chain(make_url: UrlFactory) -> None:
    with open_journal(make_url(segment_records=10)) as j:
        j.append_many([raw(i, t=float(i)) for i in range(1, 101)])  # 10 segments, t 1..100
        iid = j.mark_incident(35.0, 38.0, "drone over residence", by="alice", t=101.0)
        assert [i.label for i in j.incidents()] == ["drone over residence"]
        res = j.apply_retention(RetentionPolicy(max_age_s=30.0, incident_margin_s=0.0), now=101.0)
        dropped = [s.segment for s in res.dropped]
        assert dropped == [1, 2, 3, 5, 6, 7]  # t_max < 71; segment 4 (t 31..40) holds the incident
        assert res.kept_for_incidents == (4,)
        ts = [e.record.t for e in j.read(kinds=["raw"])]
        assert ts[:10] == [float(i) for i in range(31, 41)]
        assert min(t for t in ts if t > 40) == 71.0
        notes = [e.record for e in j.read(kinds=["retention"])]
        assert len(notes) == 1 and isinstance(notes[0], RetentionRecord)
        assert [d[0] for d in notes[0].dropped] == dropped
        marks = [e.record for e in j.read(kinds=["operator"])]
        assert isinstance(marks[0], OperatorAction) and marks[0].target == f"incident:{iid}"
        v = j.verify()
        assert v.ok, v.summary()
        assert v.segments_dropped == 6
        j.append(raw(102, t=102.0))
        assert j.verify().ok


def test_retention_by_size_and_floor(make_url: UrlFactory) -> None:
    with open_journal(make_url(segment_records=10)) as j:
        j.append_many([raw(i, t=float(i)) for i in range(1, 101)])
        # over any budget, but the floor keeps everything newer than t=50
        res = j.apply_retention(RetentionPolicy(max_bytes=1, floor_s=51.0), now=101.0)
        assert [s.segment for s in res.dropped] == [1, 2, 3, 4]
        assert res.bytes_after < res.bytes_before
        assert min(e.record.t for e in j.read(kinds=["raw"])) == 41.0
        assert j.verify().ok
        again = j.apply_retention(RetentionPolicy(max_bytes=1, floor_s=51.0), now=101.0)
        assert again.dropped == ()
        last = j.apply_retention(RetentionPolicy(max_bytes=1), now=101.0)
        assert [s.segment for s in last.dropped] == [5, 6, 7, 8, 9, 10]
        assert not [e for e in j.read(kinds=["raw"])]
        assert j.verify().ok


def test_concurrent_writers_keep_one_chain(make_url: UrlFactory) -> None:
    """Two connections appending at once (as two processes would): seqs unique, chain valid."""
    import threading

    url = make_url(segment_records=7)
    open_journal(url).close()
    got: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            with open_journal(url) as j:
                for k in range(40):
                    batch = [raw(k * 3 + m, sensor=name) for m in range(1 + k % 3)]
                    got[name] += j.append_many(batch)
        except BaseException as e:  # surfaced below: a thread's exception is otherwise lost
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in got]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    seqs = sorted(got["a"] + got["b"])
    assert seqs == list(range(1, len(seqs) + 1))
    with open_journal(url) as j:
        assert [e.seq for e in j.read()] == seqs
        v = j.verify()
        assert v.ok, v.summary()
