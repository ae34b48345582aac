"""``POST /api/ingest/{sensor_id}/batch``: many NDJSON messages, each journaled as if posted alone.

Through the real app and a real SQLite journal: the 202 comes after the one group commit,
each line is its own raw message with its bytes exactly as sent, a malformed line is refused
with its line number and reason (and counted) while the good lines are kept, an unknown
token is 401, and a journal that refuses gives 503 with nothing acknowledged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service_helpers import make_site
from skywarden.core.inbound import Inbound
from skywarden.runtime.live.ingest import JournalingIngest
from skywarden.service.app import create_app
from skywarden.service.sessions import SensorTokens
from skywarden.service.settings import ServiceSettings
from skywarden.store.journal import open_journal
from skywarden.store.records import RawMessage, detections_of
from support.scripted import ScriptedSource

TOKEN = "batch-test-sensor-token-0123456789"
NDJSON = {"Content-Type": "application/x-ndjson"}


def _client(port: Any) -> TestClient:
    src = ScriptedSource(make_site(), now=1_700_000_100.0)
    tokens = SensorTokens()
    tokens.set("radar-1", TOKEN)
    client = TestClient(create_app(ServiceSettings(), src, ingest=port, sensor_tokens=tokens))
    client.headers["X-Sensor-Token"] = TOKEN
    return client


def _line(t: float, range_m: float) -> bytes:
    det = {"polar": {"range_m": range_m, "az_deg": 45, "el_deg": 3, "radial_mps": 1}}
    return json.dumps({"t": t, "detections": [det]}).encode()


def test_each_line_is_journaled_as_its_own_message_before_the_answer(tmp_path: Path) -> None:
    journal = open_journal(f"sqlite://{tmp_path}/j.sqlite")
    ingest = JournalingIngest(journal)
    lines = [_line(1_700_000_000.0 + i * 0.1, 500.0 + i) for i in range(40)]
    bad = b'{"t": 1700000000.0, "detections": [{"polar": {"range_m": -5}}]}'
    body = b"\n".join([*lines[:10], b"{oops", *lines[10:30], b"", bad, *lines[30:]]) + b"\r\n"
    with _client(ingest) as client:
        client.portal.call(ingest.start)  # type: ignore[union-attr]
        r = client.post("/api/ingest/radar-1/batch", content=body, headers=NDJSON)
        assert r.status_code == 202, r.text
        ack = r.json()
        assert ack["accepted"] == 40 and ack["detections"] == 40
        assert [(x["line"], x["reason"]) for x in ack["rejected"]] == [
            (11, "bad_json"),
            (33, ack["rejected"][1]["reason"]),
        ]
        assert ack["rejected"][1]["reason"] != "bad_json"
        # journaled before the answer, in order, each with its own bytes as sent
        raws = [x for x in journal.records(kinds=["raw"]) if isinstance(x, RawMessage)]
        assert [m.payload for m in raws] == lines
        assert {m.format for m in raws} == {"json"}
        assert [detections_of(m)[0].t for m in raws] == [json.loads(x)["t"] for x in lines]
        wrong = client.post(
            "/api/ingest/radar-1/batch",
            content=body,
            headers={**NDJSON, "X-Sensor-Token": "x" * 20},
        )
        assert wrong.status_code == 401
        client.portal.call(ingest.stop)  # type: ignore[union-attr]
        assert client.post("/api/ingest/radar-1/batch", content=body).status_code == 503
    assert ingest.counters.get("ingest.rejected.bad_json") == 2  # counted on each parsed post
    assert ingest.counters.get("ingest.messages") == 40
    assert journal.head()[0] == 40
    journal.close()


class _Refusing:
    """An ingest port whose journal refuses every write."""

    def __init__(self) -> None:
        self.seen = 0

    async def submit(self, batch: Sequence[Inbound]) -> None:
        self.seen += len(batch)
        raise OSError("disk full")


def test_a_refused_commit_acknowledges_nothing_of_the_batch() -> None:
    port = _Refusing()
    with _client(port) as client:
        body = b"\n".join(_line(1_700_000_000.0, 400.0 + i) for i in range(5))
        r = client.post("/api/ingest/radar-1/batch", content=body, headers=NDJSON)
        assert r.status_code == 503 and "not journaled" in r.json()["detail"]
        assert port.seen == 5


def test_too_many_lines_is_413_before_parsing() -> None:
    port = _Refusing()
    with _client(port) as client:
        r = client.post("/api/ingest/radar-1/batch", content=b"{}\n" * 10_001, headers=NDJSON)
        assert r.status_code == 413
        assert port.seen == 0


def test_the_access_log_drops_accepted_ingest_posts_only() -> None:
    from skywarden.runtime.live.run import QuietIngestLog

    def rec(method: str, path: str, status: int) -> logging.LogRecord:
        args = ("127.0.0.1:5000", method, path, "1.1", status)
        return logging.LogRecord("uvicorn.access", 20, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)

    f = QuietIngestLog()
    assert not f.filter(rec("POST", "/api/ingest/radar-1/batch", 202))
    assert not f.filter(rec("POST", "/api/ingest/radar-1", 202))
    assert f.filter(rec("POST", "/api/ingest/radar-1", 401))  # refusals stay in the log
    assert f.filter(rec("POST", "/api/auth/login", 200))
    assert f.filter(rec("GET", "/api/ingest/radar-1", 200))
