"""Ordered consumers whose creation does not hang on a dead NATS node.

After one node of a three-node JetStream cluster is SIGKILLed, nats-server 2.9.10 keeps
placing about one new R1 consumer of an R3 stream in three or four on the dead peer for
minutes (it is not marked offline), and the creation request of such a consumer is never
answered (docs/scale.md, Session 19, branches natsflake and natsprod). ``js.subscribe(...,
ordered_consumer=True)`` sends one request and waits the context's whole timeout (5 s):
a taking-over worker's site failed, its lease was released and the site claimed again.

:func:`subscribe_ordered` hedges instead, the way one hedges any request to a replicated
service: it sends the creation, and if no answer came within ``hedge_s`` it sends another
(a fresh deliver inbox, the same start sequence), and binds to whichever answers first,
until ``timeout`` is spent. The meta leader places each request anew, so a second one
lands on a live peer two times in three. A request answered after another won is deleted
(best effort); one never answered sits on the dead peer, has no interest on its inbox, and
is removed by the server's inactivity threshold for ephemerals once that peer returns.
Nothing is skipped: every attempt starts at the same stream sequence, and only the winner
is bound, as an ordinary ordered consumer (so nats-py's own re-creation on missed
heartbeats still applies afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo
from nats.js.errors import BadRequestError

log = logging.getLogger(__name__)

HEDGE_S = 1.0  # a healthy creation answers in 0.1-0.2 s idle, ~1 s median at load 14


@dataclasses.dataclass(frozen=True)
class Created:
    """The winning attempt: the consumer's info and the config (with its inbox) it used."""

    info: ConsumerInfo
    config: ConsumerConfig
    attempts: int


def ordered_config(base: ConsumerConfig, subject: str, idle_heartbeat: float) -> ConsumerConfig:
    """What nats-py's ``subscribe(ordered_consumer=True)`` asks for: ephemeral, no acks,
    flow control, heartbeats, one replica in memory, filtered on ``subject``."""
    return dataclasses.replace(
        base,
        filter_subject=subject,
        flow_control=True,
        ack_policy=AckPolicy.NONE,
        max_deliver=1,
        ack_wait=22 * 3600,  # nats-py's value for ordered consumers (22 hours)
        idle_heartbeat=idle_heartbeat,
        num_replicas=1,
        mem_storage=True,
    )


async def create_hedged(
    js: JetStreamContext,
    stream: str,
    config: ConsumerConfig,
    inbox: Callable[[], str],
    hedge_s: float = HEDGE_S,
    timeout: float = 5.0,
) -> Created:
    """Create the consumer ``config`` describes, a new request every ``hedge_s`` while none
    has answered, each with its own deliver subject from ``inbox()``; the first answer wins.
    Raises ``nats.errors.TimeoutError`` when none answered within ``timeout``, and a request
    rejected as bad (400) at once; other errors (503 while electing) are retried."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending: dict[asyncio.Task[ConsumerInfo], ConsumerConfig] = {}
    attempts = 0
    last_error: BaseException | None = None
    try:
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise nats.errors.TimeoutError from last_error
            # one more request each round: the meta leader places it anew
            cfg = dataclasses.replace(config, deliver_subject=inbox())
            task = asyncio.create_task(js._jsm.add_consumer(stream, config=cfg, timeout=left))
            pending[task] = cfg
            attempts += 1
            done, _ = await asyncio.wait(
                pending, timeout=min(hedge_s, left), return_when=asyncio.FIRST_COMPLETED
            )
            for t in done:
                cfg = pending.pop(t)
                e = t.exception()
                if e is None:
                    if attempts > 1:
                        log.info("consumer on %s created by attempt %d", stream, attempts)
                    return Created(t.result(), cfg, attempts)
                if isinstance(e, BadRequestError):
                    raise e
                last_error = e
            if done and not pending:  # failed fast (503): breathe before the next request
                await asyncio.sleep(min(0.25, max(0.0, deadline - loop.time())))
    finally:
        for t in pending:  # losers: delete those that answer later; forget the rest
            t.add_done_callback(_delete_later(js, stream))


def _delete_later(
    js: JetStreamContext, stream: str
) -> Callable[[asyncio.Task[ConsumerInfo]], None]:
    def done(t: asyncio.Task[ConsumerInfo]) -> None:
        if t.cancelled() or t.exception() is not None:
            return
        name = t.result().name
        if name is not None:
            fut = asyncio.ensure_future(_delete(js, stream, name))
            _background.add(fut)  # held until done: the loop keeps only weak references
            fut.add_done_callback(_background.discard)

    return done


_background: set[asyncio.Future[None]] = set()


async def _delete(js: JetStreamContext, stream: str, name: str) -> None:
    with contextlib.suppress(Exception):
        await js.delete_consumer(stream, name)


async def subscribe_ordered(
    js: JetStreamContext,
    subject: str,
    stream: str,
    cb: Callable[[Msg], Awaitable[None]],
    config: ConsumerConfig,
    pending_msgs_limit: int,
    idle_heartbeat: float,
    hedge_s: float = HEDGE_S,
    timeout: float | None = None,
) -> JetStreamContext.PushSubscription:
    """``js.subscribe(subject, stream=..., ordered_consumer=True, ...)``, its creation hedged
    (:func:`create_hedged`); ``timeout`` defaults to the context's request timeout."""
    cfg = ordered_config(config, subject, idle_heartbeat)
    made = await create_hedged(
        js, stream, cfg, js._nc.new_inbox, hedge_s, timeout if timeout is not None else js._timeout
    )
    return await js.subscribe_bind(
        stream=stream,
        config=made.config,
        consumer=str(made.info.name),
        cb=cb,
        ordered_consumer=True,
        pending_msgs_limit=pending_msgs_limit,
    )
