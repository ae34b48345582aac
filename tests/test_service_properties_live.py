"""Property tests over every route of a *running* service (uvicorn on loopback): never a 5xx.

- schemathesis, from the service's ``/openapi.json`` over HTTP, positive and negative
  generation (values outside the documented types and ranges), every operation;
- hypothesis with the values issue 18 found dangerous, as JSON bodies of every operation that
  takes one: ``NaN``, infinities, numbers of 60 digits, floats at the edge of a double, lone
  surrogates in strings and keys, nesting up to 3,000 deep; and the same values as path and
  query parameters.

The service is ``create_app`` over a ``ScriptedSource`` with a real picture, served by
uvicorn in a thread; requests carry an admin bearer token so they reach the handlers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service_helpers import PictureMaker, fast_users, make_site, standard_tracks
from skywarden.core.clock import ManualClock
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings
from support.scripted import ScriptedSource
from support.served import ServedApp

schemathesis = pytest.importorskip("schemathesis")

# schemathesis gives each API operation its own test item under one node id; pytest-xdist's
# file scheduler keys work by node id and would run one of them: `make test` runs this file
# in its own process (the `one_process` marker, pyproject.toml)
pytestmark = pytest.mark.one_process

NOW = 1_700_000_000.0


class _Server(ServedApp):
    def __init__(self) -> None:
        source = ScriptedSource(make_site(), now=NOW)
        source.push(PictureMaker(source.site).make(standard_tracks()))
        self.app = create_app(
            ServiceSettings(login_burst=100_000, login_per_min=1e6, lockout_after=1_000_000),
            source,
            ManualClock(NOW),
            users=fast_users(),
        )
        sec = self.app.state.skywarden.security
        self.sensor_token = sec.sensor_tokens.issue("radar-1")
        super().__init__(self.app)

    def headers(self) -> dict[str, str]:
        """A fresh admin token per call: a generated PATCH may have changed the admin's
        password (ending its sessions) or demoted it."""
        sec = self.app.state.skywarden.security
        sec.users = fast_users()
        token, _ = sec.sessions.open("admin", "bearer", NOW)
        return {"Authorization": f"Bearer {token}", "X-Sensor-Token": self.sensor_token}


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    with _Server() as srv:
        yield srv


def _openapi() -> dict[str, Any]:
    source = ScriptedSource(make_site(), now=NOW)
    doc: dict[str, Any] = create_app(ServiceSettings(), source, users=fast_users()).openapi()
    return doc


DOC = _openapi()
# the document is the running service's own (same code); the calls go over HTTP to it
SCHEMA = schemathesis.openapi.from_dict(DOC)
SCHEMA.config.generation.update(modes=list(schemathesis.GenerationMode), max_examples=8)


@SCHEMA.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_schemathesis_over_http_no_server_error(case: Any, server: _Server) -> None:
    response = case.call(base_url=server.base, headers=server.headers())
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])


# --- hypothesis: the dangerous values ------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text inserted as is."""

    text: str


leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1.7976931348623157e308, 5e-324, -0.0]),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.builds(Raw, st.sampled_from(["1e999", "-1e999", "9" * 500, "1e-999", "NaN"])),
    st.text(alphabet=st.characters(codec=None), max_size=20),  # lone surrogates included
    st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3),
)
values = st.recursive(
    leaf,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(st.text(st.characters(codec=None), max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)
deep = st.integers(min_value=30, max_value=3000).map(lambda k: Raw("[" * k + "]" * k))


def dump(v: Any) -> str:
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, dict):
        return "{" + ",".join(f"{dump(str(k))}:{dump(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    return json.dumps(v, allow_nan=True)


OPERATIONS = [(m.upper(), p) for p, item in DOC["paths"].items() for m in item]


def _fill(path: str, value: str) -> str:
    while "{" in path:
        a, b = path.index("{"), path.index("}")
        path = path[:a] + value + path[b + 1 :]
    return path


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_dangerous_json_bodies_never_5xx(server: _Server, method: str, path: str) -> None:
    with httpx.Client(base_url=server.base, timeout=30) as http:

        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(body=st.one_of(values, deep), param=st.text(st.characters(codec=None), max_size=12))
        def check(body: Any, param: str) -> None:
            p = quote(param.encode("utf-8", "surrogatepass"), safe="")
            url = _fill(path, p or "x") + f"?limit={p}&state={p}&confirmed_only={p}&from={p}"
            headers = {**server.headers(), "content-type": "application/json"}
            content = dump(body).encode("utf-8", "surrogatepass")
            r = http.request(method, url, content=content, headers=headers)
            assert r.status_code < 500, (method, url, content[:200], r.status_code, r.text[:300])

        check()
