"""Fuzz the HTTP API of a running ``skywarden run``: no 5xx, no crash, healthy, journal intact.

Run: ``.venv/bin/python benchmarks/http_fuzz.py --cases 100000`` (``--help`` for the knobs).
Starts ``skywarden run`` (the real runtime: simulated site, SQLite journal in a temporary
directory, uvicorn as the CLI builds it) as a child process on a free loopback port, then sends
``--cases`` generated requests from ``--clients`` concurrent connections, checks
``/api/health`` every 2,000 cases and at the end, stops the service with SIGINT and runs
``skywarden verify`` on its journal. Prints one JSON summary; exits 0 when there was no 5xx,
no dropped connection, the service stayed healthy and the journal verifies, 1 otherwise.

Every case is built from the service's own ``/openapi.json`` (every operation, with its path
parameters, query parameters and body fields) and mutated from a seeded RNG:

- bodies: objects with the operation's field names and hostile values (``NaN``, infinities,
  ``1e999``, 5,000-digit integers, lone surrogates, control characters, 10 k strings, nesting
  10 to 100,000 deep), other JSON values, truncated JSON, invalid UTF-8, random bytes, empty;
- content types: JSON, ``+json``, UTF-16 JSON, text, form, multipart with a bad boundary, none;
- path parameters and query values: percent-encoded surrogates and NULs, traversal, long;
- methods other than the operation's, unknown paths, static traversal attempts;
- credentials: the admin's bearer token (most cases, so bodies reach the handlers), a sensor
  token on ingest, garbage tokens and cookies, none; forged ``X-Forwarded-For`` and ``Origin``.

Cases that would lock the fuzzer out of its own admin account (logout with its token, editing
or deleting the ``admin`` user, re-issuing the ingest sensor's token) are not generated.
``tests/test_service_fuzz_live.py`` runs the same generator for a few thousand cases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ADMIN_PASSWORD = "fuzz-admin-password-1"
SENSOR_TOKEN = "fuzz-sensor-token-0123456789"


class Raw:
    """A JSON token written as is (``NaN``, ``1e999``, 5,000 digits, deep nesting)."""

    def __init__(self, text: str) -> None:
        self.text = text


STRINGS = [
    "",
    "a",
    "viewer",
    "operator",
    "warning",
    "protected",
    "Feature",
    "Polygon",
    "FRIEND1",
    "4ca123",
    "\ud800",
    "\udc00x",
    "x\udfff",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\U0001f600",
    "é" * 70,
    "'; DROP TABLE journal; --",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "A" * 10_000,
    "%00",
    "\\",
    '"',
    "NaN",
    "null",
    " ",
    "\n\r\t",
]
NUMBERS: list[Any] = [
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
    Raw("1e999"),
    Raw("-1e999"),
    Raw("9" * 5000),
    Raw("-" + "9" * 40),
    Raw("1e-400"),
    Raw("-0"),
    0,
    -1,
    1,
    3.5,
    1e308,
    -1e308,
    2**63,
    2**64 + 1,
    60.0,
    1_700_000_000.0,
]
FIELDS = ["id", "t", "x", "type", "value", "data", "__proto__", "constructor", "", "\ud800"]
PATH_VALUES = [
    "T1",
    "A1",
    "x",
    "residence",
    "perimeter",
    "FRIEND1",
    "victor",
    "%ED%A0%80",
    "%FF%FE",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "a" * 300,
    "%F0%9F%98%80",
    "%25",
    "null",
    "-1",
    "1e999",
]
QUERY_VALUES = ["NaN", "Infinity", "1e999", "-1", "0", "9" * 400, "%ED%A0%80", "", "true", "x"]
CONTENT_TYPES = [
    "application/json",
    "application/json",
    "application/json",
    "application/json; charset=utf-16",
    "application/merge-patch+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=",
    "application/octet-stream",
    None,
]
OTHER_PATHS = [
    "/",
    "/index.html",
    "/docs",
    "/openapi.json",
    "/redoc",
    "/docs/assets/swagger-ui.css",
    "/docs/assets/..%2F..%2F..%2Fetc%2Fpasswd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/..%5c..%5cwindows",
    "/api/",
    "/api/nope",
    "/ws/picture",
    "/%ED%A0%80",
    "/" + "a" * 5000,
]


def dump(value: Any) -> str:
    """JSON text that may hold what ``json.dumps`` refuses (``Raw`` tokens, lone surrogates)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{dump(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)  # ensure_ascii: a lone surrogate is written as its \\u escape


@dataclass
class Op:
    method: str
    path: str
    query: list[str]
    fields: list[str]
    has_body: bool


def operations(doc: dict[str, Any]) -> list[Op]:
    schemas = doc.get("components", {}).get("schemas", {})

    def props(s: dict[str, Any], depth: int = 0) -> list[str]:
        if depth > 3:
            return []
        if "$ref" in s:
            return props(schemas.get(s["$ref"].rsplit("/", 1)[-1], {}), depth + 1)
        out = list(s.get("properties", {}))
        for sub in s.get("anyOf", []) + s.get("oneOf", []) + s.get("allOf", []):
            out += props(sub, depth + 1)
        for p in s.get("properties", {}).values():
            out += props(p, depth + 1)
        return out

    ops = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ops.append(
                Op(
                    method.upper(),
                    path,
                    [p["name"] for p in params if p.get("in") == "query"],
                    sorted(set(props(body.get("schema", {})))),
                    "requestBody" in op or "/ingest/" in path,
                )
            )
    return ops


@dataclass
class Case:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None


@dataclass
class Fuzzer:
    ops: list[Op]
    admin_token: str
    ingest_sensor: str
    rng: random.Random = field(default_factory=lambda: random.Random(1))

    def value(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if r < 0.35:
            return self.rng.choice(STRINGS)
        if r < 0.7:
            return self.rng.choice(NUMBERS)
        if r < 0.75:
            return self.rng.choice([None, True, False])
        if r < 0.8:
            k = self.rng.choice([10, 33, 1000, 100_000])
            return Raw("[" * k + "]" * k)
        if depth < 3 and r < 0.9:
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 4))]
        if depth < 3:
            return {self.rng.choice(FIELDS): self.value(depth + 1) for _ in range(3)}
        return 1

    def body(self, op: Op) -> bytes | None:
        r = self.rng.random()
        if r < 0.55:
            keys = op.fields or FIELDS
            obj = {self.rng.choice(keys): self.value() for _ in range(self.rng.randint(1, 6))}
            if op.path.startswith("/api/ingest/") and self.rng.random() < 0.5:
                obj = {"t": self.value(), "detections": [{"range_m": self.value()}] * 3}
            text = dump(obj)
            if self.rng.random() < 0.1:
                text = text[: self.rng.randint(0, len(text))]  # truncated
            return text.encode("utf-8", "surrogatepass")
        if r < 0.65:
            return dump(self.value()).encode("utf-8", "surrogatepass")
        if r < 0.75:
            return self.rng.randbytes(self.rng.randint(1, 2000))
        if r < 0.8:
            return b'{"name": "\xff\xfe\xed\xa0\x80"}'  # invalid UTF-8 (an encoded surrogate)
        if r < 0.85:
            return json.dumps({"username": "admin", "password": "x" * 20}).encode("utf-16")
        if r < 0.9:
            return b""
        return None

    def path(self, op: Op) -> str:
        out = op.path
        while "{" in out:
            a, b = out.index("{"), out.index("}")
            out = out[:a] + self.rng.choice(PATH_VALUES) + out[b + 1 :]
        return out

    def headers(self, op: Op) -> dict[str, str]:
        h: dict[str, str] = {}
        r = self.rng.random()
        if r < 0.7:
            h["authorization"] = f"Bearer {self.admin_token}"
        elif r < 0.8:
            h["authorization"] = self.rng.choice(["Bearer", "Bearer swb_x", "Basic Zm9vOmJhcg=="])
        elif r < 0.85:
            h["cookie"] = "skywarden_session=" + self.rng.choice(["x", "%00", "a" * 500])
            h["x-csrf-token"] = "x"
        if op.path.startswith("/api/ingest/"):
            h["x-sensor-token"] = SENSOR_TOKEN if self.rng.random() < 0.7 else "wrong-token"
        ct = self.rng.choice(CONTENT_TYPES)
        if ct is not None:
            h["content-type"] = ct
        if self.rng.random() < 0.1:
            h["x-forwarded-for"] = self.rng.choice(["1.2.3.4", "garbage", "::1, 10.0.0.1"])
        if self.rng.random() < 0.05:
            h["origin"] = self.rng.choice(["http://evil.example", "null"])
        return h

    def case(self) -> Case:
        if self.rng.random() < 0.05:
            path = self.rng.choice(OTHER_PATHS)
            method = self.rng.choice(["GET", "GET", "POST", "PUT", "DELETE", "OPTIONS"])
            op = Op(method, path, [], [], method != "GET")
        else:
            op = self.rng.choice(self.ops)
            method = op.method
            if self.rng.random() < 0.05:
                method = self.rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
            path = self.path(op)
        if not self._safe(method, path):
            return self.case()
        query = [
            f"{q}={self.rng.choice(QUERY_VALUES)}" for q in op.query if self.rng.random() < 0.6
        ]
        url = path + ("?" + "&".join(query) if query else "")
        content = self.body(op) if op.has_body or self.rng.random() < 0.05 else None
        headers = self.headers(op)
        if method in ("GET", "HEAD", "OPTIONS") and content is None:
            headers.pop("content-type", None)
        return Case(method, url, headers, content)

    def _safe(self, method: str, path: str) -> bool:
        """False for what would end the fuzzer's own admin access or its ingest token."""
        if path == "/api/auth/logout":
            return False
        if path.startswith("/api/users/") and path.rstrip("/").endswith("/admin"):
            return False
        return not (path.startswith("/api/sensors/") and self.ingest_sensor in path)

    def cases(self, n: int) -> list[Case]:
        return [self.case() for _ in range(n)]


@dataclass
class Result:
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[tuple[str, str, int, str]] = field(default_factory=list)
    transport_errors: list[tuple[str, str, str]] = field(default_factory=list)
    health_failures: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "cases": sum(self.statuses.values()) + len(self.transport_errors),
            "statuses": dict(sorted(self.statuses.items())),
            "5xx": sum(v for k, v in self.statuses.items() if k >= 500),
            "transport_errors": len(self.transport_errors),
            "health_failures": self.health_failures,
            "examples_5xx": self.server_errors[:5],
            "examples_transport": self.transport_errors[:5],
        }


async def send_all(
    base_url: str, cases: list[Case], clients: int, health_every: int = 2000
) -> Result:
    res = Result()
    queue: asyncio.Queue[tuple[int, Case]] = asyncio.Queue()
    for i, c in enumerate(cases):
        queue.put_nowait((i, c))
    timeout = httpx.Timeout(30.0)

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as http:
            while not queue.empty():
                i, c = queue.get_nowait()
                try:
                    r = await http.request(c.method, c.url, headers=c.headers, content=c.content)
                except httpx.HTTPError as e:
                    res.transport_errors.append((c.method, c.url[:100], repr(e)[:200]))
                    continue
                res.statuses[r.status_code] += 1
                if r.status_code >= 500:
                    res.server_errors.append((c.method, c.url[:100], r.status_code, r.text[:200]))
                if i % health_every == 0:
                    h = await http.get("/api/health")
                    if h.status_code != 200:
                        res.health_failures += 1

    await asyncio.gather(*(worker() for _ in range(clients)))
    return res


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _skywarden() -> list[str]:
    exe = Path(sys.executable).with_name("skywarden")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "skywarden.cli.main"]


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"skywarden run exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).json().get("status") == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    raise SystemExit("skywarden run did not become healthy")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="skywarden-fuzz-"))
    journal = tmp / "journal.sqlite"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SKYWARDEN_ADMIN_PASSWORD": ADMIN_PASSWORD}
    # the simulated site's first sensor gets a token so ingest bodies reach the parser
    from skywarden.runtime.live.feeds import simulated_feed

    sensor = simulated_feed(a.seed).site.sensors[0].id
    cmd = [*_skywarden(), "run", "--port", str(port), "--journal", str(journal)]
    env["SKYWARDEN_SENSOR_TOKENS"] = f"{sensor}={SENSOR_TOKEN}"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    try:
        _wait_healthy(base, proc)
        tok = httpx.post(
            f"{base}/api/auth/token",
            json={"username": "admin", "password": ADMIN_PASSWORD},
            timeout=30,
        ).json()["access_token"]
        doc = httpx.get(f"{base}/openapi.json", timeout=10).json()
        fz = Fuzzer(operations(doc), tok, sensor, random.Random(a.seed))
        res = Result()
        done = 0
        t_send = time.monotonic()
        while done < a.cases:
            n = min(10_000, a.cases - done)
            part = asyncio.run(send_all(base, fz.cases(n), a.clients))
            res.statuses.update(part.statuses)
            res.server_errors += part.server_errors
            res.transport_errors += part.transport_errors
            res.health_failures += part.health_failures
            done += n
            print(f"{done} cases, 5xx so far {res.summary()['5xx']}", file=sys.stderr)
        send_s = time.monotonic() - t_send
        health = httpx.get(f"{base}/api/health", timeout=10).json()
        alive = proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    verify = subprocess.run(
        [*_skywarden(), "verify", str(journal)], capture_output=True, text=True, check=False
    )
    out = {
        **res.summary(),
        "seconds": round(send_s, 1),
        "requests_per_s": round(a.cases / send_s, 1),
        "alive_after": alive,
        "health_after": health.get("status"),
        "exit_code": proc.returncode,
        "verify_exit": verify.returncode,
        "verify": verify.stdout.strip()[-300:],
        "total_s": round(time.monotonic() - t0, 1),
    }
    print(json.dumps(out, indent=1))
    ok = (
        out["5xx"] == 0
        and out["transport_errors"] == 0
        and out["health_failures"] == 0
        and alive
        and health.get("status") == "ok"
        and verify.returncode == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
