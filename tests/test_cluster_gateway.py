"""``skywarden gateway`` as an operator runs it: a site file with an ADS-B (SBS) link, the
cluster unreachable at first. Every message is journaled locally (and so acknowledged to
its link) while NATS is down, forwarded once it comes up, and after a SIGKILL and restart
the raw stream holds each journaled message exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import nats

from nats_helpers import NatsServer, eventually, free_port, read_stream, require_nats_server
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.topology import RAW_STREAM, TopologyConfig, ensure_topology
from skywarden.store.journal import open_journal

SITE = """
name = "north-gate"
[origin]
lat = 43.6
lon = 1.4
alt_m = 150.0
[[sensors]]
id = "sbs"
kind = "adsb"
measures = "position_id"
position_enu_m = [0, 0, 0]
sigma = {{pos_m = 30.0}}
[sensors.link]
protocol = "adsb_sbs"
host = "127.0.0.1"
port = {port}
"""


def _line(i: int) -> bytes:
    lat = 43.6 + 0.0001 * i
    return (
        f"MSG,3,1,1,4CA2D6,1,2024/01/01,10:00:00.000,2024/01/01,10:00:00.000,,"
        f"35000,,,{lat:.5f},1.45,,,0,0,0,0\r\n"
    ).encode()


def _journal_raw(url: str) -> int:
    j = open_journal(url)
    try:
        return sum(1 for _ in j.read(kinds=("raw",)))
    finally:
        j.close()


def test_gateway_journals_while_the_cluster_is_down_then_forwards_once(tmp_path: Path) -> None:
    require_nats_server()
    nats_port = free_port()
    d = tmp_path / "nats"
    d.mkdir()
    server = NatsServer(
        "n", d, f'listen: "127.0.0.1:{nats_port}"\njetstream {{ store_dir: "{d}/js" }}\n', nats_port
    )
    journal = f"sqlite:///{tmp_path}/gw.sqlite"
    sent = [0]

    async def main() -> None:
        async def serve(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while True:
                    w.write(_line(sent[0]))
                    sent[0] += 1
                    await w.drain()
                    await asyncio.sleep(0.02)
            except (ConnectionError, OSError):
                pass

        sbs = await asyncio.start_server(serve, "127.0.0.1", 0)
        site = tmp_path / "site.toml"
        site.write_text(SITE.format(port=sbs.sockets[0].getsockname()[1]))
        cmd = [
            sys.executable, "-m", "skywarden.cli.main", "gateway", "--site", str(site),
            "--site-id", "north", "--journal", journal, "--cursor", str(tmp_path / "gw.cursor"),
            "--nats", f"nats://127.0.0.1:{nats_port}", "--every", "1",
        ]  # fmt: skip
        log = (tmp_path / "gw.log").open("ab")
        gw = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            # no NATS yet: messages are journaled (and acknowledged) all the same
            await eventually(
                lambda: asyncio.to_thread(_journal_raw, journal),
                lambda n: n >= 20,
                60,
                "messages journaled while the cluster is down",
            )
            await asyncio.to_thread(server.start)
            nc = await nats.connect(server.url)
            js = nc.jetstream(timeout=5.0)
            await ensure_topology(js, TopologyConfig())

            async def stored() -> int:
                return int((await js.stream_info(RAW_STREAM)).state.messages)

            await eventually(stored, lambda n: n >= 40, 60, "forwarded after NATS came up")
            gw.send_signal(signal.SIGKILL)
            gw.wait()
            gw = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            await eventually(stored, lambda n: n >= 80, 60, "forwarding after the restart")
            gw.send_signal(signal.SIGINT)
            assert gw.wait(30) == 0
            n_journal = await asyncio.to_thread(_journal_raw, journal)
            msgs = await read_stream(js, RAW_STREAM, "skywarden.site.north.raw.*")
            await nc.close()
        finally:
            if gw.poll() is None:
                gw.kill()
            sbs.close()
        assert len(msgs) == n_journal, (len(msgs), n_journal)
        payloads = [codec.decode_raw(m).inbound.payload for _, _, m in msgs]
        assert len(set(payloads)) == len(payloads), "a message reached the stream twice"
        assert all(s == "skywarden.site.north.raw.sbs" for _, s, _ in msgs)
        summary = [json.loads(x) for x in (tmp_path / "gw.log").read_text().splitlines()
                   if x.startswith("{")]  # fmt: skip
        assert summary and summary[-1]["site"] == "north"

    try:
        asyncio.run(main())
    finally:
        server.stop()


def test_cursor_is_written_whole_and_a_bad_one_is_named(tmp_path: Path) -> None:
    import pytest

    from skywarden.runtime.cluster.gateway import read_cursor, write_cursor

    p = tmp_path / "c.cursor"
    assert read_cursor(p) == 0
    write_cursor(p, 41)
    write_cursor(p, 42)
    assert read_cursor(p) == 42 and not (tmp_path / "c.cursor.tmp").exists()
    p.write_text("{torn")
    with pytest.raises(ValueError, match="unreadable forwarding cursor"):
        read_cursor(p)
