"""SAPIENT ``Task`` messages that point a camera: the only tasking skywarden can build or send.

skywarden senses, shows and warns; it never commands an effector. Slew-to-cue needs one kind
of task: "look at this azimuth/elevation (and range)" sent to a node that registered as a
camera. This module is the one place in ``src/`` that may name ``task_pb2``; it builds
exactly these Tasks (BSI Flex 335 v2.0 ``Task.Command.look_at``, a ``RangeBearingCone`` in
RADIANS_M about the node, datum TRUE) and ``check_outbound`` refuses any other before it
goes out:

- the destination must be registered and declare ``NODE_TYPE_CAMERA``, and none of the
  effector node types (``sapient_icd.EFFECTOR_NODE_TYPES``) -- ``not_a_camera``,
  ``effector_destination``;
- the task carries exactly one command, and its kind is one of ``SENSOR_COMMANDS``
  (pointing: ``look_at``; configuring a sensor: ``detection_threshold``,
  ``detection_report_rate``, ``classification_threshold``) -- ``command_not_allowed``;
  ``request``, ``mode_change``, ``move_to``, ``patrol``, ``follow`` and free-text
  ``command_parameter`` (which can name anything) are never sent;
- no ``region`` (regions configure what a node reports, not where it looks; left out).

Refusals raise ``TaskRefused`` (an ``InputRejected`` with a stable reason, counted by the
caller as ``task_refused.<reason>``). ``tests/test_sapient_task_guard.py`` proves statically
that no other module builds a Task and that this one names no other command.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from sapient_msg.bsi_flex_335_v2_0 import (
    range_bearing_pb2,
    registration_pb2,
    sapient_message_pb2,
    task_pb2,
)

from skywarden.core.errors import InputRejected
from skywarden.sensors import sapient_icd

CAMERA: Final = int(registration_pb2.Registration.NodeType.NODE_TYPE_CAMERA)
SENSOR_COMMANDS: Final = frozenset(
    {"look_at", "detection_threshold", "detection_report_rate", "classification_threshold"}
)


class TaskRefused(InputRejected):
    """A task skywarden will not build or send; ``reason`` is the counter key."""


@dataclass(frozen=True)
class CameraNode:
    """What the tasker knows of a destination: its id and the node types it registered."""

    node_id: str
    node_types: tuple[int, ...]
    registered: bool = True


@dataclass(frozen=True)
class LookAt:
    """Where to look, about the camera: azimuth from true north (rad, clockwise), elevation
    above the horizon (rad), range (m, 0 = unknown), and their 1-sigma errors."""

    azimuth_rad: float
    elevation_rad: float
    range_m: float = 0.0
    azimuth_error_rad: float = 0.0
    elevation_error_rad: float = 0.0
    range_error_m: float = 0.0
    extent_rad: float = 0.0  # width and height of the region to look at (0: a point)


def check_destination(node: CameraNode) -> None:
    if any(t in sapient_icd.EFFECTOR_NODE_TYPES for t in node.node_types):
        raise TaskRefused("effector_destination", f"{node.node_id} is an effector")
    if not node.registered or CAMERA not in node.node_types:
        raise TaskRefused("not_a_camera", f"{node.node_id} did not register as a camera")


def look_at_task(
    node: CameraNode, own_node_id: str, look: LookAt, task_id: str, t: float
) -> sapient_message_pb2.SapientMessage:
    """A Task that points ``node`` at ``look`` (checked by ``check_outbound``)."""
    check_destination(node)
    if not sapient_icd.is_ulid(task_id):
        raise TaskRefused("bad_task_id", task_id)
    if not (math.isfinite(look.azimuth_rad) and math.isfinite(look.elevation_rad)):
        raise TaskRefused("bad_direction", f"{look}")
    if not -math.pi / 2 <= look.elevation_rad <= math.pi / 2 or look.range_m < 0:
        raise TaskRefused("bad_direction", f"{look}")
    rb = range_bearing_pb2.RangeBearingCone(
        azimuth=look.azimuth_rad % (2 * math.pi),
        elevation=look.elevation_rad,
        azimuth_error=look.azimuth_error_rad,
        elevation_error=look.elevation_error_rad,
        coordinate_system=range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M,
        datum=range_bearing_pb2.RANGE_BEARING_DATUM_TRUE,
    )
    if look.extent_rad > 0:
        rb.horizontal_extent = look.extent_rad
        rb.vertical_extent = look.extent_rad
    if look.range_m > 0:
        rb.range = look.range_m
        rb.range_error = look.range_error_m
    command = task_pb2.Task.Command()
    command.look_at.range_bearing.CopyFrom(rb)
    body = task_pb2.Task(
        task_id=task_id,
        task_name="look_at",
        control=task_pb2.Task.CONTROL_START,
        command=command,
    )
    body.task_start_time.FromNanoseconds(int(t * 1e9))
    msg = sapient_message_pb2.SapientMessage(node_id=own_node_id, destination_id=node.node_id)
    msg.timestamp.FromNanoseconds(int(t * 1e9))
    msg.task.CopyFrom(body)
    check_outbound(msg, [node])
    return msg


def check_outbound(msg: sapient_message_pb2.SapientMessage, nodes: Collection[CameraNode]) -> None:
    """Refuse a Task that is not a sensor command to a registered camera.

    Messages that are not Tasks pass (registration acks, detections to a higher node...)."""
    if msg.WhichOneof("content") != "task":
        return
    by_id = {n.node_id: n for n in nodes}
    node = by_id.get(msg.destination_id)
    if node is None:
        raise TaskRefused("not_a_camera", f"{msg.destination_id} is not a registered node")
    check_destination(node)
    body = msg.task
    if len(body.region):
        raise TaskRefused("command_not_allowed", "region")
    kind = body.command.WhichOneof("command") if body.HasField("command") else None
    if body.HasField("command") and body.command.HasField("command_parameter"):
        raise TaskRefused("command_not_allowed", "command_parameter")
    if kind not in SENSOR_COMMANDS:
        raise TaskRefused("command_not_allowed", str(kind))
    if kind == "look_at" and not body.command.look_at.HasField("range_bearing"):
        raise TaskRefused("command_not_allowed", "look_at without a bearing")


def registered_nodes(nodes: Collection[object]) -> list[CameraNode]:
    """``CameraNode`` views of ``SapientSessions.nodes.values()`` (any object with
    ``node_id``, ``node_types`` and ``registered``)."""
    return [
        CameraNode(
            str(getattr(n, "node_id")),  # noqa: B009 - duck-typed NodeState
            tuple(int(t) for t in getattr(n, "node_types")),  # noqa: B009
            bool(getattr(n, "registered")),  # noqa: B009
        )
        for n in nodes
    ]


def read_look_at(msg: sapient_message_pb2.SapientMessage) -> LookAt:
    """The LookAt of a received Task (what a camera node obeys); anything else is refused
    (``not_a_task``, ``command_not_allowed``). A RADIANS_M cone, datum TRUE, is expected."""
    if msg.WhichOneof("content") != "task":
        raise TaskRefused("not_a_task", str(msg.WhichOneof("content")))
    body = msg.task
    kind = body.command.WhichOneof("command") if body.HasField("command") else None
    if kind != "look_at" or not body.command.look_at.HasField("range_bearing"):
        raise TaskRefused("command_not_allowed", str(kind))
    rb = body.command.look_at.range_bearing
    if rb.coordinate_system != range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M:
        raise TaskRefused("command_not_allowed", "look_at not in RADIANS_M")
    return LookAt(
        rb.azimuth,
        rb.elevation,
        rb.range if rb.HasField("range") else 0.0,
        rb.azimuth_error,
        rb.elevation_error,
        rb.range_error if rb.HasField("range_error") else 0.0,
        rb.horizontal_extent if rb.HasField("horizontal_extent") else 0.0,
    )
