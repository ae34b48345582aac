"""Fuzzing the SAPIENT parsers: every input is accepted or rejected with a reason, never a crash.

Budget: see ``fuzz_settings.py`` (``SKYWARDEN_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters_helpers import MemoryIngest
from fuzz_settings import FUZZ
from sapient_helpers import SKY, detection_latlon, detection_rb, registration, status
from skywarden.core.clock import ManualClock
from skywarden.core.errors import InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.sensors.links.sapient_server import SapientServer
from skywarden.sensors.sapient import (
    SapientSessions,
    frame,
    parse_json_message,
    parse_message,
    split_frames,
)

VALID_BODIES = [
    m.SerializeToString() for m in (registration(), status(), detection_latlon(), detection_rb())
]


def _mutate(body: bytes, flips: list[tuple[int, int]]) -> bytes:
    b = bytearray(body)
    for pos, val in flips:
        b[pos % len(b)] = val
    return bytes(b)


@FUZZ
@given(st.binary(max_size=512))
def test_parse_message_arbitrary_bytes(body: bytes) -> None:
    try:
        parse_message(body, 0.0)
    except InputRejected as e:
        assert e.reason


@FUZZ
@given(
    st.sampled_from(VALID_BODIES),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_mutated_valid_messages_through_sessions(body: bytes, flips: list[tuple[int, int]]) -> None:
    s = SapientSessions(GeoOrigin(51.0, -1.0), SKY)
    s.handle(parse_message(VALID_BODIES[0], 0.0))
    s.handle(parse_message(VALID_BODIES[1], 0.0))
    try:
        s.handle(parse_message(_mutate(body, flips), 1.0))
    except InputRejected as e:
        assert e.reason


@FUZZ
@given(st.binary(max_size=256), st.text(max_size=64))
def test_split_frames_and_json(buf: bytes, text: str) -> None:
    try:
        bodies, rest = split_frames(buf)
        assert sum(len(b) + 4 for b in bodies) + len(rest) == len(buf)
    except InputRejected as e:
        assert e.reason == "bad_length"
    try:
        parse_json_message(text, 0.0)
    except InputRejected as e:
        assert e.reason


@FUZZ
@given(st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=5))
def test_garbage_between_valid_traffic_keeps_flowing(garbage: list[bytes]) -> None:
    delivered: list[int] = []
    server = SapientServer(
        SapientSessions(GeoOrigin(51.0, -1.0), SKY), MemoryIngest(), ManualClock(5.0)
    )
    stream = frame(registration()) + frame(status())
    for g in garbage:
        stream += len(g).to_bytes(4, "little") + g + frame(detection_latlon())
    bodies, rest = split_frames(stream)
    assert rest == b""
    for body in bodies:
        inbound, _ = server.handle_body(body, conn_id=1)
        if inbound is not None and inbound.detections:
            delivered.append(len(inbound.detections))
    stats = server.stats()
    assert len(delivered) >= len(garbage)  # every valid detection got through
    rejected = sum(v for k, v in stats.items() if k.startswith("rejected."))
    assert rejected + stats["accepted.registration"] + stats["accepted.status_report"] + stats[
        "accepted.detection_report"
    ] == len(bodies)
