"""One journal, three transports, one engine: live replay, the pooled worker and the edge give
the same picture frames and alert events, field by field (issue 17).

The journal is a residence run: sensor messages, a tick a second of site time, an operator's
acknowledge of the first alert and a zone edit (both journaled through central's
``CentralOps``, exactly as the HTTP API does), then 60 s of silence in which only ticks come.
Live replay writes it to a journal file (SQLite) and reads it back with
``runtime.replay.replay_journal``; the engine fed directly is the reference; the pooled path
puts it on a real nats-server's raw stream and lets a :class:`SiteRunner` step it (and
publish fenced frames); the edge path feeds an :class:`EdgeSite` that publishes to its local
stream. The frames and alert transitions of each are compared with the reference's."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import nats

from cluster_journal import (
    SITE,
    Picture,
    alert_key,
    first_difference,
    raw_report,
    reference,
    sim_journal,
)
from nats_helpers import eventually, read_stream, require_nats_server, single_server
from skywarden.core.clock import WallClock
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.edge import EdgeSite
from skywarden.runtime.cluster.feed import (
    Acked,
    JetStreamIngestPort,
    feed_reports,
    register_site,
    sim_reports,
)
from skywarden.runtime.cluster.operator import CentralOps
from skywarden.runtime.cluster.site_runner import SiteRunner
from skywarden.runtime.cluster.topology import (
    EDGE_STREAM,
    RAW_STREAM,
    SITES_STREAM,
    SNAPSHOTS_BUCKET,
    TopologyConfig,
    control_subject,
    ensure_topology,
    raw_subject,
)
from skywarden.runtime.engine.engine import Engine, Output
from skywarden.runtime.engine.site_edits import SITE_EDIT_KEY, site_edit_payload
from skywarden.runtime.offline.replay import replay_journal
from skywarden.sim import load_scenario, simulate
from skywarden.store.journal import open_journal
from skywarden.store.records import (
    AlertRecord,
    ConfigChange,
    OperatorAction,
    RawMessage,
    Record,
    TickRecord,
)


def _journal() -> tuple[list[Record], dict[str, object], object]:
    run = simulate(load_scenario("residence"), 3)
    records = sim_journal(run, until_s=110.0, silent_until_s=170.0)
    _, alerts = reference(Engine(run.site), records)
    first = next(a for a in alerts if a["event"] == "raised")
    at = next(
        i for i, r in enumerate(records) if isinstance(r, TickRecord) and r.t > first["t"] + 2
    )
    t_ack = records[at].t
    ack = OperatorAction(t_ack, "ops1", "acknowledge", first["alert_id"])
    no_zones = site_edit_payload(dataclasses.replace(run.site, zones=()))
    at_edit = next(i for i, r in enumerate(records) if isinstance(r, TickRecord) and r.t >= 100)
    edit = ConfigChange(records[at_edit].t, "admin", SITE_EDIT_KEY, None, no_zones)
    records = [
        *records[: at + 1],
        ack,
        *records[at + 1 : at_edit + 1],
        edit,
        *records[at_edit + 1 :],
    ]
    return records, run.header, run.site


def test_replay_pooled_worker_and_edge_agree_field_by_field(tmp_path: Path) -> None:
    require_nats_server()
    srv = single_server(tmp_path)
    records, header, site = _journal()
    ref_pics, ref_alerts = reference(Engine(site), records)  # type: ignore[arg-type]
    assert any(a["actor"] == "ops1" for a in ref_alerts), "the journal's acknowledge applies"
    # live replay proper: the records in a journal file, read back by replay_journal
    journal = open_journal(f"sqlite://{tmp_path}/journal.sqlite")
    journal.append_many(records)
    outs: list[Output] = []
    replay_journal(journal, site, on_output=outs.append)  # type: ignore[arg-type]
    journal.close()
    inputs = [r for r in records if not isinstance(r, ConfigChange)]
    assert len(outs) == len(inputs)
    rep_pics, rep_alerts, last = [], [], None
    counter = codec.TransitionCounter()
    for rec, o in zip(inputs, outs, strict=True):
        last = o.frames[-1] if o.frames else last
        for r in o.records:
            if isinstance(r, AlertRecord):
                a = codec.alert_of_record(SITE, "-", r, 0, counter.next_id(r.alert_id))
                rep_alerts.append(alert_key(a))
        if isinstance(rec, TickRecord):
            assert last is not None
            rep_pics.append(Picture.of_frame(last))
    assert (d := first_difference(ref_pics, rep_pics)) is None, f"replay frames: {d}"
    assert (d := first_difference(ref_alerts, rep_alerts)) is None, f"replay alerts: {d}"

    async def main() -> None:
        nc = await nats.connect(srv.url)
        js = nc.jetstream()
        await ensure_topology(js, TopologyConfig())
        await register_site(js, SITE, header)
        ops = CentralOps(js, WallClock().now)  # no picture: the journal names the alert
        # ---- the pooled site: the journal onto the raw stream, in order
        for rec in records:
            if isinstance(rec, RawMessage):
                rep = raw_report(rec)
                data = codec.encode_raw(SITE, rep.inbound, rep.t)
                await js.publish(raw_subject(SITE, rec.sensor_id), data)
            elif isinstance(rec, OperatorAction):
                assert rec.target is not None
                await ops.alert_action(SITE, rec.target, rec.action, rec.operator)
            elif isinstance(rec, ConfigChange):
                await ops.edit_site(SITE, rec.new, rec.actor)
            else:
                assert isinstance(rec, TickRecord)
                await js.publish(control_subject(SITE), codec.encode_control(SITE, rec))
        last_seq = int((await js.stream_info(RAW_STREAM)).state.last_seq)
        kv = await js.key_value(SNAPSHOTS_BUCKET)
        runner = SiteRunner(
            js,
            kv,
            SITE,
            site,
            "w1",
            WallClock().now,
            flush_s=0.05,
            ticking=False,  # type: ignore[arg-type]
        )
        await runner.start()
        await eventually(
            lambda: asyncio.sleep(0, runner.published), lambda p: p >= last_seq, 60, "frames"
        )
        await runner.stop(snapshot=False)
        frames = [
            codec.decode_frame(d)
            for _, _, d in await read_stream(js, SITES_STREAM, f"skywarden.site.{SITE}.tracks")
        ]
        pooled_alerts = [
            codec.decode_alert(d)
            for _, _, d in await read_stream(js, SITES_STREAM, f"skywarden.site.{SITE}.alerts")
        ]
        # ---- the edge: the same journal into its engine, published to its local stream
        edge = EdgeSite(js, SITE, site)  # type: ignore[arg-type]
        await edge.start()
        for rec in records:
            if isinstance(rec, TickRecord):
                await edge.flush(rec.t)
            else:
                edge.feed(rec)
        edge_frames = [
            codec.decode_frame(d)
            for _, _, d in await read_stream(js, EDGE_STREAM, f"skywarden.edge.{SITE}.tracks")
        ]
        edge_alerts = [
            codec.decode_alert(d)
            for _, _, d in await read_stream(js, EDGE_STREAM, f"skywarden.edge.{SITE}.alerts")
        ]
        await nc.close()

        def norm(alerts: list[codec.SiteAlert]) -> list[dict[str, object]]:
            return [alert_key(a) for a in alerts]

        for name, fs, al in (
            ("pooled", frames, pooled_alerts),
            ("edge", edge_frames, edge_alerts),
        ):
            pics = [Picture.of(f) for f in fs]
            assert (d := first_difference(ref_pics, pics)) is None, f"{name} frames: {d}"
            assert (d := first_difference(ref_alerts, norm(al))) is None, f"{name} alerts: {d}"
        # the pooled frames account for every report once
        seen = [q for f in frames for q in f.raw_seqs]
        assert len(seen) == len(set(seen)) == sum(isinstance(r, RawMessage) for r in records)
        # the acknowledge journaled through central reached the pooled site's engine
        assert any(a.record.actor == "ops1" for a in pooled_alerts)
        assert ref_pics[-1].t == 170.0  # the silent minute still stepped, tick by tick
        print(json.dumps({"frames": len(ref_pics), "alerts": len(ref_alerts)}))

    try:
        asyncio.run(main())
    finally:
        srv.stop()


def test_a_retried_frame_that_landed_is_not_taken_for_another_writer(tmp_path: Path) -> None:
    """A frame publish whose acknowledgement was lost and whose retry is refused for the
    subject's last sequence: if the stored last frame is this runner's own (same message
    id), the runner goes on from it; if another worker's, it is fenced."""
    require_nats_server()
    srv = single_server(tmp_path)
    run = simulate(load_scenario("residence"), 3)

    async def main() -> None:
        nc = await nats.connect(srv.url)
        js = nc.jetstream()
        await ensure_topology(js, TopologyConfig())
        kv = await js.key_value(SNAPSHOTS_BUCKET)
        runner = SiteRunner(js, kv, SITE, run.site, "w1", WallClock().now)
        subject = f"skywarden.site.{SITE}.tracks"
        ack = await js.publish(subject, b"f1", headers={"Nats-Msg-Id": f"{SITE}:17"})
        assert await runner.store.landed(subject, {"Nats-Msg-Id": f"{SITE}:17"}) == ack.seq
        await js.publish(subject, b"f2", headers={"Nats-Msg-Id": f"{SITE}:18-other"})
        assert await runner.store.landed(subject, {"Nats-Msg-Id": f"{SITE}:17"}) is None
        await nc.close()

    try:
        asyncio.run(main())
    finally:
        srv.stop()


def test_a_silent_pooled_site_keeps_ticking(tmp_path: Path) -> None:
    """The owner's own ticks (not a journal's): while reports flow it ticks at the latest
    report time; when they stop, once caught up, it ticks every ``silent_tick_s`` with site
    time advancing, so frames keep coming; every report is still in exactly one frame."""
    require_nats_server()
    srv = single_server(tmp_path)
    run = simulate(load_scenario("residence"), 3)

    async def main() -> None:
        nc = await nats.connect(srv.url)
        js = nc.jetstream()
        await ensure_topology(js, TopologyConfig())
        kv = await js.key_value(SNAPSHOTS_BUCKET)
        runner = SiteRunner(
            js, kv, SITE, run.site, "w1", WallClock().now, flush_s=0.1, silent_tick_s=0.5
        )
        await runner.start()
        acked = Acked()
        port = JetStreamIngestPort(js, SITE, acked)
        reports = sim_reports(run, until_s=30.0)
        await feed_reports(port, reports, speed=None)
        last_t = max(r.scan.t for r in reports)
        seqs = acked.seqs[SITE]
        await eventually(
            lambda: asyncio.sleep(0, runner.published), lambda p: p >= max(seqs), 30, "frames"
        )

        async def frames() -> list[codec.SiteFrame]:
            subj = f"skywarden.site.{SITE}.tracks"
            return [codec.decode_frame(d) for _, _, d in await read_stream(js, SITES_STREAM, subj)]

        silent = await eventually(
            frames, lambda fs: sum(f.t > last_t + 1.0 for f in fs) >= 3, 30, "silent frames"
        )
        await runner.stop(snapshot=False)
        after = [f.t for f in silent if f.t > last_t]
        assert after == sorted(after) and after[-1] >= last_t + 1.5
        seen = [q for f in silent for q in f.raw_seqs]
        assert sorted(seen) == sorted(seqs) and len(seen) == len(set(seen))
        raw = await read_stream(js, RAW_STREAM, f"skywarden.site.{SITE}.raw._ctl")
        assert raw and all(isinstance(codec.decode_control(d), TickRecord) for _, _, d in raw)
        await nc.close()

    try:
        asyncio.run(main())
    finally:
        srv.stop()
