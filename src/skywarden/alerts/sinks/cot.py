"""Cursor-on-Target (CoT) output to a TAK server: pure event builders and a TCP sender.

Event layout (MITRE CoT base schema, ``event`` 2.0, as TAK servers route it)::

    <event version="2.0" uid="skywarden.<track>" type="a-h-A-M-H-Q" how="m-f"
           time="..." start="..." stale="...">          ISO-8601 UTC, "Z"
      <point lat="" lon="" hae="" ce="" le=""/>          WGS-84 deg, HAE m, 1-sigma m
      <detail>
        <track course="" speed=""/>                      deg true, m/s
        <contact callsign="..."/>
        <remarks>class, threat, identity, sensors</remarks>
        <_skywarden_ class="" class_conf="" threat="" identity="" status=""/>
      </detail>
    </event>

Type codes (``type``) are MITRE CoT atoms, ``a-<affiliation>-<dimension>-<function>``, from
MITRE's ``CoTtypes.xml`` (function ids follow MIL-STD-2525B): affiliation ``f`` friend,
``n`` neutral, ``u`` unknown, ``s`` suspect, ``h`` hostile; dimension ``A`` air. Functions
used here:

====================  ==================  ==========================================
skywarden class       CoT function        CoTtypes.xml entry
====================  ==================  ==========================================
``drone``             ``A-M-H-Q``         Air / Military / Rotary wing / Drone (UAV)
``drone_fixed_wing``  ``A-M-F-Q``         Air / Military / Fixed wing / Drone (UAV)
``aircraft``          ``A-C``             Air / Civilian
``bird``, unknown     ``A``               Air track (no function: 2525B has no bird)
====================  ==================  ==========================================

So a hostile rotary-wing drone is ``a-h-A-M-H-Q`` and a suspect fixed-wing one
``a-s-A-M-F-Q``. ``how="m-f"`` is "machine, fused" (CoT ``how`` codes). Affiliation comes
from the caller (threat assessment or a whitelist), never guessed here.

``build_cot_xml`` is pure and returns bytes; ``build_cot_protobuf`` wraps the same event in
TAK protocol v1 (``takproto``, the streaming form with the ``0xbf`` varint header) for
servers that negotiated protobuf. :class:`CotTcpSender` owns the socket, opened with
``pytak.protocol_factory`` (``tcp://host:port``): a bounded queue that drops the oldest event
when full (a live air picture prefers fresh over complete) and counts ``dropped``.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import datetime as dt
import logging
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import pytak  # type: ignore[import-untyped]
import takproto  # type: ignore[import-untyped]

from skywarden.core.counters import Counters
from skywarden.core.geo import GeoOrigin
from skywarden.core.track import TrackState

log = logging.getLogger(__name__)


class Affiliation(StrEnum):
    """CoT affiliation letter (MITRE CoT ``a-<affiliation>``)."""

    FRIEND = "f"
    NEUTRAL = "n"
    UNKNOWN = "u"
    SUSPECT = "s"
    HOSTILE = "h"


_FUNCTION: Final = {
    "drone": "A-M-H-Q",
    "drone_fixed_wing": "A-M-F-Q",
    "aircraft": "A-C",
}


def cot_type(object_class: str, affiliation: Affiliation) -> str:
    """skywarden class + affiliation -> CoT type, e.g. ``drone`` + hostile -> ``a-h-A-M-H-Q``."""
    return f"a-{affiliation.value}-{_FUNCTION.get(object_class, 'A')}"


@dataclass(frozen=True)
class CotInfo:
    """What threat assessment adds to a track for the TAK picture."""

    affiliation: Affiliation = Affiliation.UNKNOWN
    threat: str | None = None
    callsign: str | None = None
    stale_s: float = 10.0


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fmt(v: float, nd: int = 7) -> str:
    return f"{v:.{nd}f}".rstrip("0").rstrip(".") or "0"


def build_cot_xml(track: TrackState, origin: GeoOrigin, info: CotInfo | None = None) -> bytes:
    """One track -> a CoT ``event`` (UTF-8 XML bytes, no XML declaration)."""
    info = info or CotInfo()
    cls = track.best_class
    e, n, u = (float(v) for v in track.x[:3])
    lat, lon, hae = origin.to_geodetic(e, n, u)
    ce = math.sqrt(max(float(track.P[0, 0] + track.P[1, 1]) / 2.0, 0.0))
    le = math.sqrt(max(float(track.P[2, 2]), 0.0))
    ve, vn = float(track.x[3]), float(track.x[4])
    course = math.degrees(math.atan2(ve, vn)) % 360.0
    event = ET.Element(
        "event",
        {
            "version": "2.0",
            "uid": f"skywarden.{track.id}",
            "type": cot_type(cls, info.affiliation),
            "how": "m-f",
            "time": _iso(track.t),
            "start": _iso(track.t),
            "stale": _iso(track.t + info.stale_s),
        },
    )
    ET.SubElement(
        event,
        "point",
        {"lat": _fmt(lat), "lon": _fmt(lon), "hae": _fmt(hae, 1), "ce": _fmt(ce, 1),
         "le": _fmt(le, 1)},
    )  # fmt: skip
    detail = ET.SubElement(event, "detail")
    ET.SubElement(detail, "track", {"course": _fmt(course, 1), "speed": _fmt(track.speed, 2)})
    ET.SubElement(detail, "contact", {"callsign": info.callsign or f"UAS {track.id}"})
    conf = track.class_probs.get(cls, 0.0)
    remarks = f"skywarden track {track.id}: {cls} ({conf:.0%})"
    if info.threat:
        remarks += f", threat {info.threat}"
    if track.identity:
        remarks += f", id {track.identity}"
    ET.SubElement(detail, "remarks").text = remarks
    ET.SubElement(
        detail,
        "_skywarden_",
        {
            "class": cls,
            "class_conf": _fmt(conf, 3),
            "threat": info.threat or "",
            "identity": track.identity or "",
            "status": track.status.value,
            "sensors": ",".join(track.sensors),
        },
    )
    return bytes(ET.tostring(event, encoding="utf-8", xml_declaration=False))


def build_cot_protobuf(xml_event: bytes) -> bytes:
    """A CoT XML event -> TAK protocol v1 streaming bytes (``takproto.xml2proto``)."""
    out = takproto.xml2proto(xml_event.decode("utf-8"), takproto.TAKProtoVer.STREAM)
    return bytes(out)


class CotTcpSender:
    """Sends CoT events to a TAK server over TCP; bounded queue, drop-oldest when full."""

    def __init__(self, url: str, max_queue: int = 1000) -> None:
        self.url = url
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(max_queue)
        self.counters = Counters()
        self._writer: Any = None

    def put(self, event: bytes) -> None:
        """Queue one event; if the queue is full the oldest is dropped (and counted)."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.counters.inc("dropped")
            log.warning("CoT queue full (max_queue=%d): dropped the oldest", self.queue.maxsize)
        self.queue.put_nowait(event)

    async def connect(self) -> None:
        cfg = configparser.ConfigParser()
        cfg["skywarden"] = {"COT_URL": self.url}
        _, self._writer = await pytak.protocol_factory(cfg["skywarden"])
        self.counters.inc("connects")

    async def run_once(self) -> None:
        """Send one queued event (waits for one)."""
        event = await self.queue.get()
        if self._writer is None:
            await self.connect()
        self._writer.write(event)
        await self._writer.drain()
        self.counters.inc("sent")

    async def run(self) -> None:
        while True:
            await self.run_once()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None
