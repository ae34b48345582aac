"""Issue 18 (service): hostile request bodies get a 4xx with a reason, never a 500 or an echo.

The issue's own vectors first (NaN/Infinity in a login, lone surrogates in login, users and
whitelist), then the other ways Python's ``json`` is laxer than RFC 8259 (overflowing
numbers, huge integers, deep nesting), then the body limits (413 from ``Content-Length`` and
from a chunked upload, per route), all over the real app (``TestClient``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service_helpers import PASSWORDS, PictureMaker, bearer, fast_users, make_site, standard_tracks
from skywarden.core.clock import ManualClock
from skywarden.core.errors import InputRejected
from skywarden.service.app import create_app
from skywarden.service.bodylimit import BodyLimitMiddleware
from skywarden.service.settings import ServiceSettings
from skywarden.service.strictjson import MAX_DEPTH, check_json
from support.scripted import ScriptedSource

NOW = 1_700_000_000.0


@pytest.fixture
def client() -> Iterator[TestClient]:
    source = ScriptedSource(make_site(), now=NOW + 100)
    app = create_app(
        ServiceSettings(login_burst=1000), source, ManualClock(NOW), users=fast_users()
    )
    source.push(PictureMaker(source.site).make(standard_tracks()))
    with TestClient(app) as c:
        c.headers.update(bearer(c, "admin"))
        yield c


def _post(c: TestClient, path: str, raw: bytes | str, **headers: str) -> Any:
    data = raw.encode() if isinstance(raw, str) else raw
    return c.post(path, content=data, headers={"content-type": "application/json", **headers})


# the issue's vectors, as raw JSON text (json.dumps would refuse to write some of them)
ISSUE_VECTORS = [
    ("/api/auth/login", '{"username":NaN,"password":Infinity}', "non_finite"),
    ("/api/auth/login", '{"username":"admin","password":-Infinity}', "non_finite"),
    ("/api/auth/login", '{"username":"\\ud800","password":"x-password-1"}', "bad_unicode"),
    ("/api/auth/token", '{"username":"admin","password":"\\udc00abc"}', "bad_unicode"),
    ("/api/users", '{"name":"\\udc00","password":"long-enough-1","role":"viewer"}', "bad_unicode"),
    ("/api/whitelist", '{"remote_id":"\\udc00","note":"x"}', "bad_unicode"),
    ("/api/whitelist", '{"remote_id":"A","note":"x","\\ud83d":1}', "bad_unicode"),
    ("/api/zones", '{"type":"Feature","properties":{"radius_m":1e999}}', "non_finite"),
    ("/api/users", '{"name":"a","password":"b","role":' + "9" * 5000 + "}", "number_too_long"),
    ("/api/whitelist", "[" * 5000 + "]" * 5000, "too_deep"),
    ("/api/whitelist", '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "too_deep"),
    ("/api/whitelist", '{"remote_id": "A", ', "bad_json"),
    ("/api/whitelist", b'{"remote_id": "\xff\xfe"}', "bad_utf8"),
]


@pytest.mark.parametrize(("path", "raw", "reason"), ISSUE_VECTORS)
def test_hostile_json_is_a_422_with_the_reason_and_no_echo(
    client: TestClient, path: str, raw: str | bytes, reason: str
) -> None:
    r = _post(client, path, raw)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body"] and detail[0]["type"] == "json_invalid"
    assert detail[0]["msg"].startswith(reason + ":"), detail
    assert "input" not in detail[0]
    counters = client.get("/api/stats").json()["counters"]
    assert counters[f"body.json_{reason}"] >= 1


def test_a_good_pair_of_surrogates_is_still_accepted(client: TestClient) -> None:
    # "\ud83d\ude00" is one emoji written as a UTF-16 pair: valid JSON, valid Unicode
    r = _post(client, "/api/whitelist", '{"remote_id":"EMOJI1","note":"\\ud83d\\ude00 ok"}')
    assert r.status_code == 201, r.text
    assert r.json()["note"] == "\U0001f600 ok"


def test_validation_errors_never_echo_the_input(client: TestClient) -> None:
    marker = "<script>alert(1)</script>" * 3
    r = client.post("/api/users", json={"name": marker, "password": 7, "role": marker})
    assert r.status_code == 422
    assert "<script>" not in r.text and "input" not in r.text
    for e in r.json()["detail"]:
        assert set(e) == {"loc", "msg", "type"}
    # a body FastAPI does not parse as JSON reaches validation as bytes: still no echo
    r = client.post(
        "/api/users", content=b"\xff\xfe\x00garbage", headers={"content-type": "text/x"}
    )
    assert r.status_code == 422 and "garbage" not in r.text


def test_login_with_the_issue_vectors_logs_nobody_in(client: TestClient) -> None:
    r = _post(client, "/api/auth/login", '{"username":NaN,"password":Infinity}')
    assert r.status_code == 422 and "set-cookie" not in r.headers
    ok = {"username": "olga", "password": PASSWORDS["olga"]}
    assert client.post("/api/auth/login", json=ok).status_code == 200


@pytest.mark.parametrize(
    ("path", "size", "want"),
    [
        ("/api/auth/login", 16_384 + 1, 413),
        ("/api/auth/token", 20_000_000, 413),
        ("/api/whitelist", 262_144 + 1, 413),
        ("/api/ingest/radar-1", 1_000_001, 413),
        ("/api/health", 262_144 + 1, 413),  # a GET with a body is bounded too
        ("/api/whitelist", 200_000, 422),  # under the limit: reaches the JSON check
    ],
)
def test_content_length_over_the_route_limit_is_413(
    client: TestClient, path: str, size: int, want: int
) -> None:
    r = _post(client, path, b" " * size)
    assert r.status_code == want, r.text
    if want == 413:
        assert "larger than" in r.json()["detail"]
        assert r.headers.get("connection") == "close"


def _asgi(app: Any, scope: dict[str, Any], receive: Any) -> list[Any]:
    sent: list[Any] = []

    async def send(msg: Any) -> None:
        sent.append(msg)

    asyncio.run(app(scope, receive, send))
    return sent


def test_chunked_body_is_cut_at_the_limit(client: TestClient) -> None:
    """The app's receive stream offers 20 MB in 10 kB chunks without a Content-Length: the
    read stops at the first chunk over the limit. (TestClient buffers a whole upload, so the
    app is called as ASGI here; the running-service tests do it over a socket.)"""
    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 10_000, "more_body": pulled < 2000}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/auth/login",
        "raw_path": b"/api/auth/login",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }
    sent = _asgi(client.app, scope, receive)
    assert sent[0]["status"] == 413
    assert pulled == 2  # 20 kB > 16 kB: two chunks, not two thousand
    assert client.get("/api/stats").json()["counters"]["body.too_large"] == 1


def test_malformed_content_length_is_400(client: TestClient) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("must not be reached")

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    mw = BodyLimitMiddleware(app)
    for bad in (b"-1", b"12x", b"9" * 30):
        scope = {"type": "http", "path": "/api/x", "headers": [(b"content-length", bad)]}
        assert _asgi(mw, scope, receive)[0]["status"] == 400


def test_ingest_body_under_the_limit_still_reaches_its_parser(client: TestClient) -> None:
    tok = client.app.state.skywarden.security.sensor_tokens.issue("radar-1")  # type: ignore[attr-defined]
    r = client.post(
        "/api/ingest/radar-1",
        content=json.dumps({"t": 1.0, "detections": "nope"}).encode(),
        headers={"X-Sensor-Token": tok, "content-type": "application/json"},
    )
    assert r.status_code in (400, 503), r.text  # the parser's reason, or no ingest port
    assert r.status_code != 422


@pytest.mark.parametrize(
    "raw",
    ['{"a": NaN}', "[Infinity]", "-Infinity", "1e400", '"\\udfff"', "[" * 100 + "]" * 100],
)
def test_check_json_refuses_what_rfc_8259_does_not_allow(raw: str) -> None:
    with pytest.raises(InputRejected):
        check_json(raw.encode())


def test_check_json_accepts_ordinary_values() -> None:
    v = {"a": [1, 2.5, -3e10, "x\u00e9", None, True], "b": {"c": "\U0001f600"}}
    assert check_json(json.dumps(v).encode()) == v
    assert check_json(json.dumps(v, ensure_ascii=False).encode()) == v
