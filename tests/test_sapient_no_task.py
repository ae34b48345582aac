"""No code path in ``src/`` can construct a SAPIENT Task or address an effector node.

A static proof over the source: the AST of every module is scanned for any way to make a
``Task`` message (importing ``task_pb2``, naming ``Task``, writing a ``task`` field or
passing ``task=``); the SAPIENT modules are the only ones allowed to name effector node
types, and only the guard list in ``sapient_icd``. Combined with ``UpwardPeer`` refusing
effector destinations (``test_sapient_uplink.py``) and ``SapientSessions`` refusing effector
registrations (``test_sapient_parse.py``), nothing skywarden sends can task an effector.
"""

from __future__ import annotations

import ast
from pathlib import Path

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


def test_no_task_construction_anywhere_in_src() -> None:
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


def test_scanner_catches_a_task(tmp_path: Path) -> None:
    bad = tmp_path / "probe.py"
    samples = [
        "from sapient_msg.bsi_flex_335_v2_0 import task_pb2\n",
        "m.task.task_id = 'x'\n",
        "m.task.CopyFrom(t)\n",
        "tid = m.task.task_id\nm.task.control = 1\n",
        "m.task.task_id += 'x'\n",
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
