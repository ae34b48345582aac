"""skywarden tasks sensors only: a SAPIENT Task can point or configure a registered camera,
and nothing else can be built or sent.

Static part: the AST of every module in ``src/`` is scanned for any way to make a ``Task``
message (importing ``task_pb2``, naming ``Task``, writing a ``task`` field or passing
``task=``); only ``sensors/sapient_task.py`` may, and that module names no command but the
sensor ones (no ``move_to``, ``patrol``, ``follow``, ``request``, ``mode_change``,
``command_parameter``). Only ``sapient_icd`` names effector node types (its guard list).

Behavioural part: ``look_at_task`` builds a LookAt for a node registered as a camera and
refuses an effector, a camera that also declares an effector type, a non-camera sensor and
an unregistered node; ``check_outbound`` refuses every Task whose command is not a sensor
command, whatever its destination. With ``UpwardPeer`` refusing effector destinations
(``test_sapient_uplink.py``) and ``SapientSessions`` refusing effector registrations
(``test_sapient_parse.py``), nothing skywarden sends can task an effector.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "skywarden"
EFFECTOR_NAMES = {
    "NODE_TYPE_KINETIC",
    "NODE_TYPE_JAMMER",
    "NODE_TYPE_CYBER",
    "NODE_TYPE_LDEW",
    "NODE_TYPE_RFDEW",
}


def _mode_definition_names(tree: ast.AST) -> set[str]:
    """Names bound to a ``Registration.ModeDefinition``.

    ``ModeDefinition.task`` is a *TaskDefinition*: the registration's declaration of what
    tasking a node accepts, not a Task message. A name counts when it is assigned from, or
    iterates over, an expression naming ``mode_definition``, or is a parameter annotated
    ``ModeDefinition``. ``.task`` on anything else (a ``SapientMessage``) is a violation.
    """
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and "mode_definition" in ast.unparse(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.For)
            and isinstance(node.target, ast.Name)
            and "mode_definition" in ast.unparse(node.iter)
        ):
            names.add(node.target.id)
        elif (
            isinstance(node, ast.arg)
            and node.annotation is not None
            and "ModeDefinition" in ast.unparse(node.annotation)
        ):
            names.add(node.arg)
    return names


TASKER = SRC / "sensors" / "sapient_task.py"
NON_SENSOR_COMMANDS = {"request", "mode_change", "move_to", "patrol", "follow", "command_parameter"}


def _task_id_reads(tree: ast.AST) -> set[int]:
    """``.task`` nodes only read for their id: ``<msg>.task.task_id`` in a load context.

    That is how a refused Task is answered by id (``TaskAck`` REJECTED,
    ``sensors.sapient_replies``); writing ``.task.task_id`` or touching ``.task`` any other
    way is still a violation.
    """
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "task_id"
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "task"
    }


def _violations(path: Path, root: Path = SRC) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if path == TASKER:
        return _tasker_violations(tree, path)
    modes = _mode_definition_names(tree)
    reads = _task_id_reads(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "task"
            and isinstance(node.value, ast.Name)
            and node.value.id in modes
        ):
            continue  # ModeDefinition.task: a TaskDefinition, see _mode_definition_names
        if id(node) in reads:
            continue  # reading a received Task's id to reject it by id
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom | ast.Import):
            names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
            if any("task_pb2" in n for n in names):
                found.append(f"{where} imports task_pb2")
        elif isinstance(node, ast.Name) and node.id in ("Task", "task_pb2"):
            found.append(f"{where} names {node.id}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("Task", "task", "task_pb2")
            and not (isinstance(node.value, ast.Name) and node.value.id == "asyncio")
        ):  # asyncio.Task is a coroutine handle, not a SAPIENT message
            found.append(f"{where} uses .{node.attr}")
        elif isinstance(node, ast.keyword) and node.arg == "task":
            found.append(f"{where} passes task=")
        elif (
            isinstance(node, ast.Attribute | ast.Name)
            and (node.attr if isinstance(node, ast.Attribute) else node.id) in EFFECTOR_NAMES
            and path.name != "sapient_icd.py"
        ):
            found.append(f"{where} names an effector node type")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # reflective construction: getattr(x, "task"), msg.ParseFromString into a Task, ...
            for arg in node.args:
                if isinstance(arg, ast.Constant) and arg.value in ("Task", "task_pb2"):
                    found.append(f"{where} passes {arg.value!r}")
    return found


def _tasker_violations(tree: ast.AST, path: Path) -> list[str]:
    """The tasker may build Tasks, but names no non-sensor command and no effector type."""
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        name = (
            node.attr
            if isinstance(node, ast.Attribute)
            else node.arg
            if isinstance(node, ast.keyword)
            else None
        )
        if name in NON_SENSOR_COMMANDS:
            found.append(f"{where} writes the non-sensor command {name}")
        if name in EFFECTOR_NAMES:
            found.append(f"{where} names an effector node type")
    return found


def test_no_task_construction_outside_the_tasker() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 10
    problems = [v for f in files for v in _violations(f)]
    assert problems == [], problems


def test_untaskable_declaration_says_zero_tasks() -> None:
    from sapient_helpers import SKY
    from skywarden.alerts.sinks.sapient import SapientUplink, UpwardPeer
    from skywarden.core.geo import GeoOrigin
    from skywarden.sensors.sapient import parse_message, split_frames

    up = SapientUplink(SKY, UpwardPeer("0f8fad5b-d9cb-469f-a165-70867728950e"), GeoOrigin(0, 0))
    (body,), _ = split_frames(up.registration(1.0))
    reg = parse_message(body, 1.0).message.registration
    for mode in reg.mode_definition:
        assert mode.task.concurrent_tasks == 0
        assert len(mode.task.command) == 0


def test_tasker_exists_and_is_scanned() -> None:
    assert TASKER.exists()
    text = TASKER.read_text(encoding="utf-8")
    assert "task_pb2" in text  # it is the one module that builds Tasks ...
    assert _tasker_violations(ast.parse(text), TASKER) == []  # ... and only sensor ones
    probe = ast.parse("cmd.move_to.CopyFrom(x)\nTask.Command(follow=f)\n")
    assert len(_tasker_violations(probe, TASKER)) == 2


def test_scanner_catches_a_task(tmp_path: Path) -> None:
    bad = tmp_path / "probe.py"
    samples = [
        "from sapient_msg.bsi_flex_335_v2_0 import task_pb2\n",
        "m.task.task_id = 'x'\n",
        "mode = msg\nmode.task.task_id = 'x'\n",
        "SapientMessage(task=t)\n",
        "x = Registration.NODE_TYPE_JAMMER\n",
    ]
    for text in samples:
        bad.write_text(text, encoding="utf-8")
        try:
            assert _violations(bad, tmp_path), text
        finally:
            bad.unlink()
    # reading a received Task's id, to refuse it by id, is not building one
    bad.write_text("tid = msg.task.task_id\n", encoding="utf-8")
    assert _violations(bad, tmp_path) == []


# --- behaviour ------------------------------------------------------------------------------

CAM = "c0ffee00-1111-4222-8333-444455556666"


def _types() -> object:
    from sapient_msg.bsi_flex_335_v2_0 import registration_pb2

    return registration_pb2.Registration.NodeType


def test_look_at_task_for_a_registered_camera_round_trips() -> None:
    import math

    from sapient_helpers import SKY, ULIDS, registration
    from skywarden.core.geo import GeoOrigin
    from skywarden.sensors.sapient import MessageKind, SapientSessions, frame, parse_message
    from skywarden.sensors.sapient import split_frames as split
    from skywarden.sensors.sapient_task import LookAt, look_at_task, registered_nodes

    nt = _types()
    sessions = SapientSessions(GeoOrigin(0, 0), SKY)
    sessions.handle(parse_message(frame(registration(CAM, node_type=nt.NODE_TYPE_CAMERA))[4:], 1.0))
    (cam,) = registered_nodes(sessions.nodes.values())
    msg = look_at_task(cam, SKY, LookAt(math.radians(370.0), 0.1, 900.0), ULIDS[7], 2.0)
    (body,), rest = split(frame(msg))
    assert rest == b""
    pm = parse_message(body, 2.0)
    assert pm.kind is MessageKind.TASK
    assert pm.message.destination_id == CAM
    rb = pm.message.task.command.look_at.range_bearing
    assert rb.azimuth == pytest.approx(math.radians(10.0))
    assert rb.elevation == pytest.approx(0.1)
    assert rb.range == pytest.approx(900.0)


@pytest.mark.parametrize(
    ("types", "reason"),
    [
        (("NODE_TYPE_JAMMER",), "effector_destination"),
        (("NODE_TYPE_KINETIC",), "effector_destination"),
        (("NODE_TYPE_CAMERA", "NODE_TYPE_RFDEW"), "effector_destination"),
        (("NODE_TYPE_CAMERA", "NODE_TYPE_LDEW"), "effector_destination"),
        (("NODE_TYPE_CYBER",), "effector_destination"),
        (("NODE_TYPE_RADAR",), "not_a_camera"),
        ((), "not_a_camera"),
    ],
)
def test_no_task_to_an_effector_or_a_non_camera(types: tuple[str, ...], reason: str) -> None:
    from sapient_helpers import SKY, ULIDS
    from skywarden.sensors.sapient_task import CameraNode, LookAt, TaskRefused, look_at_task

    nt = _types()
    node = CameraNode(CAM, tuple(int(getattr(nt, t)) for t in types))
    with pytest.raises(TaskRefused) as exc:
        look_at_task(node, SKY, LookAt(0.5, 0.1), ULIDS[1], 1.0)
    assert exc.value.reason == reason


def test_unregistered_camera_is_refused() -> None:
    from sapient_helpers import SKY, ULIDS
    from skywarden.sensors.sapient_task import CameraNode, LookAt, TaskRefused, look_at_task

    node = CameraNode(CAM, (int(_types().NODE_TYPE_CAMERA),), registered=False)  # type: ignore[attr-defined]
    with pytest.raises(TaskRefused, match="camera"):
        look_at_task(node, SKY, LookAt(0.5, 0.1), ULIDS[1], 1.0)


def _hand_made_task(kind: str) -> object:
    """A Task built here (tests may; src may not) with one command of ``kind``."""
    from sapient_msg.bsi_flex_335_v2_0 import sapient_message_pb2

    from sapient_helpers import SKY

    m = sapient_message_pb2.SapientMessage(node_id=SKY, destination_id=CAM)
    m.timestamp.FromNanoseconds(10**9)
    body = m.task
    body.task_id = "01GGYFBAXGDG7AGAHRZ6XSN001"
    body.control = body.CONTROL_START
    cmd = body.command
    if kind == "request":
        cmd.request = "Start"
    elif kind == "mode_change":
        cmd.mode_change = "Fire"
    elif kind in ("move_to", "patrol"):
        getattr(cmd, kind).locations.add(x=1.0, y=2.0)
    elif kind == "follow":
        cmd.follow.follow_object_id = "01GGYFBAXGDG7AGAHRZ6XSN002"
    elif kind == "command_parameter":
        cmd.look_at.range_bearing.azimuth = 0.1
        cmd.command_parameter = "engage"
    elif kind == "region":
        cmd.look_at.range_bearing.azimuth = 0.1
        body.region.add(region_id="01GGYFBAXGDG7AGAHRZ6XSN003")
    elif kind == "empty":
        pass
    elif kind == "look_at":
        cmd.look_at.range_bearing.azimuth = 0.1
    elif kind == "detection_threshold":
        cmd.detection_threshold = body.DISCRETE_THRESHOLD_HIGH
    return m


@pytest.mark.parametrize(
    "kind",
    [
        "request",
        "mode_change",
        "move_to",
        "patrol",
        "follow",
        "command_parameter",
        "region",
        "empty",
    ],
)
def test_outbound_guard_refuses_every_non_sensor_command(kind: str) -> None:
    from skywarden.sensors.sapient_task import CameraNode, TaskRefused, check_outbound

    cam = CameraNode(CAM, (int(_types().NODE_TYPE_CAMERA),))  # type: ignore[attr-defined]
    with pytest.raises(TaskRefused) as exc:
        check_outbound(_hand_made_task(kind), [cam])  # type: ignore[arg-type]
    assert exc.value.reason == "command_not_allowed"


@pytest.mark.parametrize("kind", ["look_at", "detection_threshold"])
def test_outbound_guard_passes_sensor_commands_only_to_cameras(kind: str) -> None:
    from skywarden.sensors.sapient_task import CameraNode, TaskRefused, check_outbound

    nt = _types()
    msg = _hand_made_task(kind)
    check_outbound(msg, [CameraNode(CAM, (int(nt.NODE_TYPE_CAMERA),))])  # type: ignore[arg-type, attr-defined]
    for t in ("NODE_TYPE_JAMMER", "NODE_TYPE_KINETIC"):
        with pytest.raises(TaskRefused, match="effector"):
            check_outbound(msg, [CameraNode(CAM, (int(nt.NODE_TYPE_CAMERA), int(getattr(nt, t))))])  # type: ignore[arg-type, attr-defined]
    with pytest.raises(TaskRefused):
        check_outbound(msg, [])  # type: ignore[arg-type]
