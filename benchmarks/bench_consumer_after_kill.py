"""Consumer creation and central's stored feed after a NATS node is SIGKILLed.

Not a unit test (nothing here asserts a time). Run::

    .venv/bin/python benchmarks/bench_consumer_after_kill.py --kills 4 --creations 10

A three-node JetStream cluster, ``SKYWARDEN_RAW``-like R3 stream ``P`` holding ``--backlog``
records for each of ``--creations`` sites, and a publisher adding one record a site every
0.1 s to ``p.live``. Each kill round:

1. **Central.** An ordered consumer on ``p.live`` (created the product's way: ``--mode``),
   then the node hosting it is SIGKILLed (the client is connected to the other two). The
   stall: the longest gap between two deliveries in the 20 s after the kill, and the
   seconds from the kill to the first record published after it.
2. **Take-over.** ``--creations`` consumers of one site each from sequence 1, created one
   after another the product's way and read until the backlog is in: seconds per site from
   the call to the backlog read, and how many calls failed (a worker releases such a site
   and claims it again; here the call is repeated). Old and new alternate site by site.
3. The node is restarted and the cluster left to settle before the next round.

``--mode old``: ``js.subscribe(ordered_consumer=True)`` (main). ``--mode new``:
``consumers.subscribe_ordered`` (hedged creation). ``both``: central old, and take-overs
alternate old/new (central's re-creation after the kill is nats-py's in both modes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from nats_helpers import cluster3, eventually  # noqa: E402
from skywarden.runtime.cluster.consumers import subscribe_ordered  # noqa: E402


async def ordered(js: Any, subject: str, cb: Any, start: int, mode: str) -> Any:
    cfg = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
    if mode == "old":
        return await js.subscribe(
            subject, stream="P", cb=cb, ordered_consumer=True, config=cfg, idle_heartbeat=1.0
        )
    return await subscribe_ordered(js, subject, "P", cb, cfg, 100_000, 1.0)


async def settled(fn: Any) -> Any:
    """A set-up step (not measured): repeated until the cluster answers."""
    for _ in range(60):
        with contextlib.suppress(TimeoutError, nats.errors.Error):
            return await fn()
        await asyncio.sleep(0.5)
    return await fn()


async def takeover(js: Any, site: int, backlog: int, mode: str) -> tuple[float, int]:
    """Seconds from the first call to the whole backlog read, and the failed calls."""
    got: list[int] = []
    done = asyncio.Event()

    async def cb(msg: Any) -> None:
        got.append(1)
        if len(got) >= backlog:
            done.set()

    t0, failed = time.monotonic(), 0
    while True:
        try:
            sub = await ordered(js, f"p.s{site}", cb, 1, mode)
            break
        except (TimeoutError, nats.errors.Error):
            failed += 1
    await asyncio.wait_for(done.wait(), 60)
    dt = time.monotonic() - t0
    await sub.unsubscribe()
    return dt, failed


async def round_(servers: Any, args: argparse.Namespace, k: int) -> dict[str, Any]:
    nc0 = await nats.connect(servers=[s.url for s in servers])
    js0 = nc0.jetstream(timeout=5.0)
    arrivals: list[tuple[float, int]] = []

    async def live_cb(msg: Any) -> None:
        arrivals.append((time.monotonic(), int(msg.data)))

    # central's consumer: find its host, reconnect the others, then kill the host
    probe = await settled(lambda: ordered(js0, "p.live", live_cb, 1, args.central))
    host = (await settled(lambda: js0.consumer_info("P", probe._consumer))).cluster.leader
    await probe.unsubscribe()
    victim = next(s for s in servers if s.name == host)
    nc = await nats.connect(servers=[s.url for s in servers if s is not victim])
    js = nc.jetstream(timeout=5.0)
    await nc0.close()
    arrivals.clear()
    # create until one lands on the victim (it is placed anew each time)
    for _ in range(20):
        sub = await settled(lambda: ordered(js, "p.live", live_cb, 1, args.central))
        ci = await settled(lambda s=sub: js.consumer_info("P", s._consumer))
        if ci.cluster.leader == victim.name:
            break
        await sub.unsubscribe()
    await asyncio.sleep(2.0)
    n0 = max((n for _, n in arrivals), default=0)
    t_kill = time.monotonic()
    victim.kill()
    await asyncio.sleep(20.0)
    after = [(t, n) for t, n in arrivals if t >= t_kill]
    times = [t_kill] + [t for t, _ in after]
    gap = max(b - a for a, b in itertools.pairwise(times)) if len(times) > 1 else 20
    first_new = next((t - t_kill for t, n in after if n > n0 + 1), None)
    await sub.unsubscribe()
    res: dict[str, Any] = {
        "round": k,
        "victim": victim.name,
        "central_gap_s": round(gap, 2),
        "central_first_new_s": None if first_new is None else round(first_new, 2),
        "takeover": {"old": [], "new": []},
    }
    modes = ["old", "new"] if args.mode == "both" else [args.mode]
    for i in range(args.creations):
        for m in modes if i % 2 == 0 else modes[::-1]:
            dt, failed = await takeover(js, i, args.backlog, m)
            res["takeover"][m].append((round(dt, 2), failed))
    await nc.close()
    victim.start()
    return res


async def feeder(js: Any, stop: asyncio.Event, n_sites: int, backlog: int) -> None:
    for i in range(n_sites):
        for j in range(backlog):
            await js.publish(f"p.s{i}", str(j).encode())
    n = 0
    while not stop.is_set():
        n += 1
        with contextlib.suppress(TimeoutError, nats.errors.Error):
            await js.publish("p.live", str(n).encode(), timeout=1.0)
        await asyncio.sleep(0.1)


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        servers = cluster3(Path(tmp))
        try:
            nc = await nats.connect(servers=[s.url for s in servers])
            js = nc.jetstream(timeout=5.0)
            cfg = StreamConfig(name="P", subjects=["p.>"], num_replicas=3)
            await eventually(lambda: js.add_stream(cfg), lambda _: True, 30, "R3 stream")
            stop = asyncio.Event()
            feed = asyncio.create_task(feeder(js, stop, args.creations, args.backlog))
            out = []
            await asyncio.sleep(3.0)
            for k in range(args.kills):
                r = await round_(servers, args, k)
                print(json.dumps(r), flush=True)
                out.append(r)
                await asyncio.sleep(args.settle)
            stop.set()
            await feed
            await nc.close()
            return out
        finally:
            for s in servers:
                s.stop()


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    s: dict[str, Any] = {
        "central_gap_s_median": statistics.median(r["central_gap_s"] for r in rounds),
        "central_gap_s": [r["central_gap_s"] for r in rounds],
    }
    for m in ("old", "new"):
        xs = [x for r in rounds for x in r["takeover"][m]]
        if xs:
            s[f"takeover_{m}"] = {
                "n": len(xs),
                "median_s": round(statistics.median(t for t, _ in xs), 2),
                "max_s": max(t for t, _ in xs),
                "failed_calls": sum(f for _, f in xs),
                "sites_with_failure": sum(1 for _, f in xs if f),
            }
    return s


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=4)
    ap.add_argument("--creations", type=int, default=10)
    ap.add_argument("--backlog", type=int, default=50)
    ap.add_argument("--settle", type=float, default=15.0)
    ap.add_argument("--mode", choices=("old", "new", "both"), default="both")
    ap.add_argument("--central", choices=("old", "new"), default="old")
    a = ap.parse_args()
    print(json.dumps({"summary": summary(asyncio.run(main(a))), "args": vars(a)}))
