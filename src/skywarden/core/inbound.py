"""The one shape every sensor adapter hands to the runtime: :class:`Inbound`, and the port it
hands it to: :class:`IngestPort`.

Why a single shape: the record (issue 7) must hold every accepted message as received (bytes)
and as parsed (detections), written *before* the sender is acknowledged; replay must feed the
same messages back through the same code path. If each adapter talked to the pipeline its own
way, neither would hold. So an adapter (SAPIENT TCP, ASTERIX UDP, Beast/SBS TCP, Remote ID
UDP, JSON over HTTP POST or MQTT, the simulator's wire output) does exactly three things:

1. parse bytes with its pure parse function (``sensors/``), rejecting bad input with a reason
   and a counter;
2. wrap what it accepted as ``Inbound(sensor_id, source, received_t, payload, detections)``;
3. ``await port.submit(batch)``; only when that returns (the batch is durably journaled) may it
   acknowledge the sender (SAPIENT ack, HTTP 202, MQTT PUBACK).

The port lives in ``core`` because ``sensors`` and ``service`` (which take messages in) sit
below ``runtime`` (which implements it) in the layer contract.

Time: ``received_t`` is the receive time from the injected clock (UNIX seconds); detections
keep their own measurement time ``t``. The pipeline runs on detection time; the journal orders
by receive time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from skywarden.core.observation import Detection


@dataclass(frozen=True)
class Inbound:
    """One accepted wire message: the raw bytes plus what its adapter parsed from them.

    ``source`` names the adapter/format (``sapient``, ``asterix-cat048``, ``adsb-beast``,
    ``adsb-sbs``, ``remoteid``, ``json``, ``sim``); with ``payload`` it is enough to parse the
    message again. Whether a message with no detection of a track counts as a miss is the
    sensor's business (its ``SensorSpec``), not the message's.
    """

    sensor_id: str
    source: str
    received_t: float
    payload: bytes
    detections: tuple[Detection, ...] = ()


class IngestPort(Protocol):
    """Where adapters put accepted messages.

    ``submit`` returns once every message of ``batch`` is in the journal (durably: the record
    survives a crash of the process from then on); it raises if the journal refused them, in
    which case the adapter must not acknowledge. Implementations batch journal writes, so
    adapters should submit what arrived together in one call.
    """

    async def submit(self, batch: Sequence[Inbound]) -> None: ...
