"""Accounts that separate sites from central, against a nats-server configured by the test.

Account ``CENTRAL`` holds JetStream (the raw and output streams, the buckets) and the
workers' and central's users. Account ``SITES`` holds one user per site gateway, and nothing
else: central exports the service ``skywarden.site.*.raw.*`` and ``SITES`` imports it, so a
gateway's publish is captured by central's raw stream and acknowledged back (the publish
is a request; the stream's PubAck is the reply). Each gateway user may publish only on its
own site's raw subjects. Checked: a gateway's reports are stored and acknowledged through
the import, with message-id deduplication intact; a gateway cannot publish as another
site, cannot write a control record (tick, operator action) of its own site, cannot read
the picture (the output subjects) and cannot reach the JetStream API (it lives in the
other account); the central account reads everything."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest

from nats_helpers import NatsServer, eventually, free_port, require_nats_server
from skywarden.core.inbound import Inbound
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.connect import PASSWORD_ENV, NatsAccess, connect
from skywarden.runtime.cluster.feed import Acked, JetStreamIngestPort
from skywarden.runtime.cluster.topology import (
    RAW_STREAM,
    TopologyConfig,
    control_subject,
    ensure_topology,
    raw_subject,
)
from skywarden.store.records import TickRecord


def _server(tmp: Path) -> NatsServer:
    port = free_port()
    d = tmp / "nats"
    d.mkdir(parents=True, exist_ok=True)
    gw = ", ".join(
        f"{{user: gw-{s}, password: pw-{s}, permissions: {{"
        f'publish: {{allow: ["skywarden.site.{s}.raw.*"], deny: ["skywarden.site.{s}.raw._ctl"]}}, '
        f'subscribe: ["_INBOX.>"]}}}}'
        for s in ("alpha", "bravo")
    )
    conf = f"""
server_name: acc
listen: "127.0.0.1:{port}"
jetstream {{ store_dir: "{d}/js" }}
accounts {{
  CENTRAL: {{
    jetstream: enabled
    users: [ {{user: central, password: central-pw}} ]
    exports: [ {{service: "skywarden.site.*.raw.*"}} ]
  }}
  SITES: {{
    users: [ {gw} ]
    imports: [ {{service: {{account: CENTRAL, subject: "skywarden.site.*.raw.*"}}}} ]
  }}
}}
"""
    return NatsServer("acc", d, conf, port).start()


def test_sites_account_publishes_raw_only_through_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_nats_server()
    srv = _server(tmp_path)

    async def main() -> None:
        central = await nats.connect(srv.url, user="central", password="central-pw")
        js = central.jetstream(timeout=5.0)
        await ensure_topology(js, TopologyConfig())
        # a gateway connects as the skywarden commands do: --nats-user, password in the env
        monkeypatch.setenv(PASSWORD_ENV, "pw-alpha")
        errors: list[Exception] = []

        async def on_error(e: Exception) -> None:
            errors.append(e)

        gw = await connect(
            NatsAccess((srv.url,), user="gw-alpha"), error_cb=on_error, max_reconnect_attempts=0
        )
        gjs = gw.jetstream(timeout=3.0)
        acked = Acked()
        port = JetStreamIngestPort(gjs, "alpha", acked, timeout_s=3.0, retry_for_s=5.0)
        msgs = [Inbound("radar-1", "json", 100.0 + k, b"{}", ()) for k in range(5)]
        await port.submit(msgs)
        assert len(acked.seqs["alpha"]) == 5  # acknowledged through the service import
        stored = (await js.stream_info(RAW_STREAM)).state.messages
        assert stored == 5
        # a retried publish (same message id) is stored once across the accounts too
        data = codec.encode_raw("alpha", msgs[0])
        hdr = {"Nats-Msg-Id": "alpha:radar-1:1"}
        ack = await gjs.publish(raw_subject("alpha", "radar-1"), data, headers=hdr)
        assert ack.duplicate and (await js.stream_info(RAW_STREAM)).state.messages == 5

        # another site's subject, or a control record of its own site: not permitted
        await gw.publish(raw_subject("bravo", "radar-1"), data)
        tick = codec.encode_control("alpha", TickRecord(200.0))
        await gw.publish(control_subject("alpha"), tick)
        await gw.flush()
        await eventually(
            lambda: asyncio.sleep(0, [str(e) for e in errors]),
            lambda es: sum("permissions violation" in e.lower() for e in es) >= 2,
            10,
            "the server to refuse both publishes",
        )
        await asyncio.sleep(0.5)
        assert (await js.stream_info(RAW_STREAM)).state.messages == 5
        # no picture and no JetStream API for a gateway: they live in the central account
        with pytest.raises(Exception):  # noqa: B017 (a permission error or no responders)
            await gjs.stream_info(RAW_STREAM)
        await gw.subscribe("skywarden.site.alpha.tracks")
        await gw.flush()
        await eventually(
            lambda: asyncio.sleep(0, [str(e).lower() for e in errors]),
            lambda es: any("subscription" in e and "tracks" in e for e in es),
            10,
            "the subscription to the picture refused",
        )
        await gw.close()
        await central.close()

    try:
        asyncio.run(main())
    finally:
        srv.stop()
