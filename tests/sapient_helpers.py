"""Builders of SAPIENT messages for the tests (hand-built, like a real edge node would)."""

from __future__ import annotations

from sapient_msg.bsi_flex_335_v2_0 import location_pb2, range_bearing_pb2, registration_pb2

from skywarden.sensors.sapient import SapientMessage

SKY = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f"
NODE = "a8654cdf-4328-47de-81fa-c495589e30c9"
OTHER = "11111111-2222-4333-8444-555555555555"
ULIDS = [f"01GGYFBAXGDG7AGAHRZ6XSN{n:03d}" for n in range(1000)]


def _msg(node: str, t: float) -> SapientMessage:
    m = SapientMessage(node_id=node, destination_id=SKY)
    m.timestamp.FromNanoseconds(int(t * 1e9))
    return m


def registration(
    node: str = NODE,
    t: float = 100.0,
    node_type: int = 2,
    name: str = "test radar",
    full: bool = True,
) -> SapientMessage:
    """A radar's registration. ``full=False`` leaves out the range-bearing detection
    definition and the request command (the link fuzzer's seed: lat/lon reports only)."""
    m = _msg(node, t)
    r = m.registration
    r.node_definition.add(node_type=node_type)
    r.icd_version = "BSI Flex 335 v2.0"
    r.name = name
    r.capabilities.add(category="Radar", type="Detection")
    sd = r.status_definition
    sd.status_interval.units = registration_pb2.Registration.TIME_UNITS_SECONDS
    sd.status_interval.value = 5
    mode = r.mode_definition.add(mode_name="Default")
    mode.mode_type = registration_pb2.Registration.MODE_TYPE_PERMANENT
    mode.settle_time.units = registration_pb2.Registration.TIME_UNITS_SECONDS
    mode.settle_time.value = 1
    dd = mode.detection_definition.add()
    dd.location_type.location_units = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    dd.location_type.location_datum = location_pb2.LOCATION_DATUM_WGS84_E
    if full:
        dd2 = mode.detection_definition.add()
        dd2.location_type.range_bearing_units = (
            range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_M
        )
        dd2.location_type.range_bearing_datum = range_bearing_pb2.RANGE_BEARING_DATUM_TRUE
    mode.task.concurrent_tasks = 1 if full else 0
    if full:
        mode.task.command.add(units="s", type=registration_pb2.Registration.COMMAND_TYPE_REQUEST)
        cmd = mode.task.command[0]
        cmd.completion_time.units = registration_pb2.Registration.TIME_UNITS_SECONDS
        cmd.completion_time.value = 1
    mode.task.region_definition.region_type.append(
        registration_pb2.Registration.REGION_TYPE_AREA_OF_INTEREST
    )
    mode.task.region_definition.settle_time.units = registration_pb2.Registration.TIME_UNITS_SECONDS
    mode.task.region_definition.settle_time.value = 1
    ra = mode.task.region_definition.region_area.add()
    ra.location_units = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    ra.location_datum = location_pb2.LOCATION_DATUM_WGS84_E
    r.config_data.add(manufacturer="ACME", model="R1")
    return m


def status(
    node: str = NODE,
    t: float = 101.0,
    lat: float = 51.0,
    lon: float = -1.0,
    report_id: str = ULIDS[1],
) -> SapientMessage:
    m = _msg(node, t)
    s = m.status_report
    s.report_id = report_id
    s.system = s.SYSTEM_OK
    s.info = s.INFO_NEW
    s.mode = "Default"
    s.node_location.x, s.node_location.y, s.node_location.z = lon, lat, 50.0
    s.node_location.coordinate_system = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    s.node_location.datum = location_pb2.LOCATION_DATUM_WGS84_E
    return m


def detection_latlon(
    node: str = NODE,
    t: float = 102.0,
    lat: float = 51.001,
    lon: float = -1.0,
    alt: float = 150.0,
    cls: str | None = "UAV Rotary Wing",
    conf: float = 0.9,
    n: int = 2,
    ids: tuple[str, str] | None = None,
) -> SapientMessage:
    """``ids``: report and object id (default: the ``n``-th of :data:`ULIDS`)."""
    m = _msg(node, t)
    d = m.detection_report
    d.report_id, d.object_id = ids or (ULIDS[n], ULIDS[n + 500])
    loc = d.location
    loc.x, loc.y, loc.z = lon, lat, alt
    loc.x_error, loc.y_error, loc.z_error = 1e-5, 1e-5, 5.0
    loc.coordinate_system = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    loc.datum = location_pb2.LOCATION_DATUM_WGS84_E
    if cls is not None:
        d.classification.add(type=cls, confidence=conf)
    return m


def detection_rb(
    node: str = NODE,
    t: float = 103.0,
    rng: float = 1000.0,
    az_deg: float = 90.0,
    el_deg: float | None = 5.0,
    n: int = 3,
) -> SapientMessage:
    m = _msg(node, t)
    d = m.detection_report
    d.report_id, d.object_id = ULIDS[n], ULIDS[n + 500]
    rb = d.range_bearing
    rb.range, rb.azimuth = rng, az_deg
    if el_deg is not None:
        rb.elevation = el_deg
    rb.range_error, rb.azimuth_error, rb.elevation_error = 5.0, 0.5, 1.0
    rb.coordinate_system = range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_M
    rb.datum = range_bearing_pb2.RANGE_BEARING_DATUM_TRUE
    return m
