"""Push notifications through apprise to a local peer (issue 20): the ``[[push]]`` outputs
section, the message (what, where from the house, how soon, what to do), the kinds filter,
retries and the failure count, and the wiring into the outputs set."""

from __future__ import annotations

import asyncio
import json

import pytest

from push_receiver import Receiver
from service_helpers import make_site
from skywarden.alerts.dispatch import AlertDispatcher
from skywarden.alerts.lifecycle import Alert, AlertEvent, AlertLevel, AlertState
from skywarden.alerts.sinks.push import PushConfig, PushDeliveryError, PushSink, push_text
from skywarden.core.clock import ManualClock
from skywarden.core.counters import Counters
from skywarden.core.errors import ConfigError
from skywarden.runtime.outputs.config import parse_outputs
from skywarden.runtime.outputs.output_set import OutputSet


def _event(kind: str = "raised", level: AlertLevel = AlertLevel.ALERT) -> AlertEvent:
    a = Alert(
        id="A7",
        track_id="T3",
        zone_id="residence",
        level=level,
        state=AlertState.RAISED,
        raised_t=100.0,
        updated_t=100.0,
        time_to_enter_s=44.6,
        object_class="drone",
        reasons=("inbound",),
    )
    return AlertEvent(kind, 100.0, a)


def test_the_message_says_what_where_how_soon_and_what_to_do() -> None:
    title, body = push_text(_event(), (-850.0, 850.0))
    assert title == "ALERT: drone -> residence"
    assert body.splitlines()[0] == "drone, 1.2 km north-west, about 45 s: take shelter"
    assert "alert A7, track T3" in body
    _, unplaced = push_text(_event(level=AlertLevel.WARNING), None)
    assert unplaced.splitlines()[0] == "drone, about 45 s: be ready to go indoors"


@pytest.mark.parametrize("scheme", ["json", "ntfy"])
def test_a_raised_alert_reaches_the_local_peer(scheme: str) -> None:
    with Receiver() as rx:
        url = f"{scheme}://127.0.0.1:{rx.port}/home"
        sink = PushSink(PushConfig((url,)), locate=lambda tid: (-850.0, 850.0))

        async def go() -> None:
            await sink.send(_event())
            await sink.send(_event("acknowledged"))  # not a kind phones get

        asyncio.run(go())
        assert rx.wait(1)
    assert len(rx.got) == 1
    _, path, headers, body = rx.got[0]
    text = body.decode() + json.dumps(headers)
    assert "1.2 km north-west" in text and "take shelter" in text
    if scheme == "json":
        msg = json.loads(body)
        assert msg["title"] == "ALERT: drone -> residence" and path == "/home"
    assert sink.counters.get("sent") == 1 and sink.counters.get("skipped.kind") == 1


def test_a_refusing_peer_is_retried_then_counted_as_failed() -> None:
    with Receiver(status=500) as rx:
        sink = PushSink(
            PushConfig((f"json://127.0.0.1:{rx.port}/x",), retries=2, base_backoff_s=0.01)
        )
        counters = Counters()
        disp = AlertDispatcher([sink], counters=counters)

        async def go() -> None:
            await disp.start()
            disp.offer([_event()])
            await disp.stop()

        asyncio.run(go())
    assert len(rx.got) == 3  # the first try and two retries
    assert sink.counters.get("retries") == 2 and sink.counters.get("failed") == 1
    assert counters.get("failed.push") == 1
    with pytest.raises(PushDeliveryError):
        asyncio.run(PushSink(PushConfig(("json://127.0.0.1:9/x",), retries=0)).send(_event()))


def test_outputs_section_and_its_refusals() -> None:
    cfg = parse_outputs(
        {"push": [{"name": "family", "urls": ["ntfy://127.0.0.1:8/home"], "urls_env": "P"}]}
    )
    assert cfg.names == ("family",) and cfg.pushes[0].kinds == {"raised", "escalated"}
    bad = [
        ({"push": {}}, "push[0].urls"),
        ({"push": {"urls": ["no-scheme"]}}, "push[0].urls"),
        ({"push": {"urls": ["json://h/x"], "kinds": ["sometimes"]}}, "push[0].kinds"),
        ({"push": {"urls": ["json://h/x"], "token": "x"}}, "push[0].token"),
    ]
    for data, where in bad:
        with pytest.raises(ConfigError) as e:
            parse_outputs(data)
        assert e.value.field == where


def test_the_outputs_set_builds_the_sink_with_secret_urls_from_the_environment() -> None:
    cfg = parse_outputs({"push": {"urls": ["json://127.0.0.1:9/a"], "urls_env": "PUSH_URLS"}})
    site = make_site()
    clock = ManualClock(0.0)
    with pytest.raises(ConfigError, match="PUSH_URLS is not set"):
        OutputSet(cfg, site, clock, env={})
    out = OutputSet(cfg, site, clock, env={"PUSH_URLS": "json://127.0.0.1:9/b ntfy://h/t"})
    (sink,) = out.sinks
    assert isinstance(sink, PushSink) and len(sink.cfg.urls) == 3
    assert sink.locate is not None and sink.locate("T1") is None  # no picture yet
    # one notification per second per service, not apprise's 5.5 s (a second alert waits)
    assert [svc.request_rate_per_sec for svc in sink._ap] == [1.0, 1.0, 1.0]
    with pytest.raises(ConfigError, match="does not accept"):
        OutputSet(cfg, site, clock, env={"PUSH_URLS": "notascheme://"})
