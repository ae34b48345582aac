"""What skywarden answers a SAPIENT node whose message it refuses (BSI Flex 335 v2.0).

A refusal is never silent: the node's integrator must see why its traffic is not used.
The reply depends on what was refused (message definitions of ``sapient-proto``):

=====================  ====================================================================
refused message        reply
=====================  ====================================================================
``Registration``       ``RegistrationAck`` with ``acceptance = false`` and the reason in
                       ``ack_response_reason`` (unlisted node, effector type, a field the
                       ICD rules forbid, a wrong ``icd_version``)
``Task``               ``TaskAck`` with ``task_status = TASK_STATUS_REJECTED``, the Task's
                       ``task_id`` and the reason: skywarden is an early-warning system and
                       takes no tasks (a Task without a valid ULID ``task_id`` cannot be
                       acknowledged by id and gets an ``Error`` instead)
``Error``              nothing: answering an Error with an Error lets two nodes loop
anything else          ``Error`` with ``packet`` = the refused bytes and ``error_message`` =
                       ``"<reason>: <detail>"`` (malformed protobuf, an ICD rule broken,
                       a report before registration, a wrong destination, ...)
=====================  ====================================================================

Every reply comes from skywarden's own node id and is addressed (``destination_id``) to the
sender when the sender's ``node_id`` is a valid UUID (it is left out otherwise: the field
is optional). ``reply_kind`` gives the counter key of a reply (``replies.<kind>``).

The refused bytes are peeked at without the ICD rules (``peek``), since a message that
breaks them is exactly the one being answered; nothing peeked is used for anything but
addressing the reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError as ProtoDecodeError
from sapient_msg.bsi_flex_335_v2_0 import error_pb2, registration_ack_pb2, task_ack_pb2

from skywarden.core.errors import InputRejected
from skywarden.sensors.sapient import MessageKind, ParsedMessage, SapientMessage
from skywarden.sensors.sapient_icd import is_ulid, is_uuid

_TaskAck = task_ack_pb2.TaskAck
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class Peeked:
    """What a refused body says about itself, read without validating it."""

    kind: MessageKind | None
    node_id: str | None  # only when it is a UUID
    task_id: str | None  # only for a Task, and only when it is a ULID


def peek(body: bytes) -> Peeked:
    msg = SapientMessage()
    try:
        msg.ParseFromString(body)
        kind = msg.WhichOneof("content")
    except (ProtoDecodeError, RecursionError, ValueError):
        return Peeked(None, None, None)
    node = msg.node_id if is_uuid(msg.node_id) else None
    task_id = None
    if kind == MessageKind.TASK.value:
        tid = msg.task.task_id  # reading the refused Task's id, to answer it
        task_id = tid if is_ulid(tid) else None
    return Peeked(MessageKind(kind) if kind else None, node, task_id)


def _reason(e: InputRejected) -> str:
    text = f"{e.reason}: {e.detail}" if e.detail else e.reason
    return text[:MAX_REASON_CHARS]


def _reply(own_node_id: str, t: float, destination: str | None) -> SapientMessage:
    m = SapientMessage(node_id=own_node_id)
    if destination is not None:
        m.destination_id = destination
    m.timestamp.FromNanoseconds(int(t * 1e9))
    return m


def refusal(
    own_node_id: str, body: bytes, t: float, e: InputRejected, pm: ParsedMessage | None
) -> SapientMessage | None:
    """The ICD's answer to one refused message (None for a refused Error)."""
    if pm is not None:
        kind: MessageKind | None = pm.kind
        node: str | None = pm.node_id
        task_id = peek(body).task_id if pm.kind is MessageKind.TASK else None
    else:
        p = peek(body)
        kind, node, task_id = p.kind, p.node_id, p.task_id
    if kind is MessageKind.ERROR:
        return None
    m = _reply(own_node_id, t, node)
    if kind is MessageKind.REGISTRATION:
        ack = registration_ack_pb2.RegistrationAck(acceptance=False)
        ack.ack_response_reason.append(_reason(e))
        m.registration_ack.CopyFrom(ack)
    elif kind is MessageKind.TASK and task_id is not None:
        m.task_ack.CopyFrom(
            _TaskAck(
                task_id=task_id, task_status=_TaskAck.TASK_STATUS_REJECTED, reason=[_reason(e)]
            )
        )
    else:
        m.error.CopyFrom(error_pb2.Error(packet=bytes(body), error_message=[_reason(e)]))
    return m


def reply_kind(m: SapientMessage) -> str:
    """Counter key of a reply: ``error``, ``task_rejected``, ``registration_refused``, ..."""
    kind = m.WhichOneof("content")
    if kind == "registration_ack":
        return "registration_ack" if m.registration_ack.acceptance else "registration_refused"
    if kind == "task_ack":
        return "task_rejected"
    return str(kind)
