"""schemathesis against the app's own OpenAPI document: no generated request is a server error.

Every operation is exercised with an admin bearer token (so the generated bodies reach the
handlers instead of stopping at 401) and a valid sensor token, over a ScriptedSource holding
a real picture. Responses must also match their documented schemas. Examples are few per
operation so the whole run stays well under a minute.
"""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

# schemathesis gives each API operation its own test item under one node id; pytest-xdist's
# file scheduler keys work by node id and would run one of them: `make test` runs this file
# in its own process (the `one_process` marker, pyproject.toml)
pytestmark = pytest.mark.one_process

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from service_helpers import PictureMaker, fast_users, make_site, standard_tracks  # noqa: E402
from skywarden.core.clock import ManualClock  # noqa: E402
from skywarden.service.app import create_app  # noqa: E402
from skywarden.service.settings import ServiceSettings  # noqa: E402
from support.scripted import ScriptedSource  # noqa: E402

NOW = 1_700_000_000.0
SOURCE = ScriptedSource(make_site(), now=NOW)
SOURCE.push(PictureMaker(SOURCE.site).make(standard_tracks()))
APP = create_app(ServiceSettings(login_burst=1000), SOURCE, ManualClock(NOW), users=fast_users())
_SEC = APP.state.skywarden.security
SENSOR_TOKEN = _SEC.sensor_tokens.issue("radar-1")


def _admin_headers() -> dict[str, str]:
    """Fresh accounts and a fresh admin token per call: a generated PATCH may have changed the
    admin's password (which ends its sessions) or demoted it."""
    _SEC.users = fast_users()
    token, _ = _SEC.sessions.open("admin", "bearer", NOW)
    return {"Authorization": f"Bearer {token}", "X-Sensor-Token": SENSOR_TOKEN}


schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_documented_responses(case: Any) -> None:
    response = case.call(headers=_admin_headers())
    case.validate_response(
        response,
        checks=[not_a_server_error, schemathesis.checks.response_schema_conformance],
    )
