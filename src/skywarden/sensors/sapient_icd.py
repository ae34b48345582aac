"""SAPIENT (BSI Flex 335 v2.0) message rules: what makes a decoded ``SapientMessage`` valid.

The ICD's own ``.proto`` files (shipped by ``sapient-proto``) mark each field with a
``ValidationOptions`` extension: ``is_mandatory``, ``is_uuid``, ``is_ulid``. Those markings
are the standard's field rules, so :func:`check_message` walks the message descriptors and
applies them generically instead of restating a hand-written list:

- a mandatory singular field must be present (proto3 ``optional`` presence bit), a mandatory
  implicit-presence string must be non-empty, a mandatory repeated field non-empty, and a
  mandatory enum must not be its ``*_UNSPECIFIED`` zero value;
- ``is_uuid`` strings are RFC 4122 text UUIDs (8-4-4-4-12 hex); ``is_ulid`` strings are
  26-character Crockford base-32 ULIDs whose first character is 0-7 (48-bit time);
- a ``oneof`` group (other than proto3's synthetic ``_field`` ones) must have a member set,
  except the two the ICD lists as optional (``DetectionReport.velocity_oneof`` and
  ``Alert.location_oneof``).

A few rules of the ICD text are not expressed as field options, and are added here by name
(each found by a case in the DSTL test harness, ``SapientServicesValidator.UnitTests/False``):

- ``Registration.icd_version`` must name this standard: ``BSI Flex 335 v2.0`` (0028);
- ``Registration.dependent_nodes`` are node identifiers, hence UUIDs (0096, 0189);
- ``TaskDefinition.concurrent_tasks`` is required when a mode defines tasking (0074);
- ``FollowObject.follow_object_id`` refers to an object identifier, hence a ULID (0178).

Rejection reasons (stable counter keys): ``missing_field``, ``unspecified_enum``,
``bad_uuid``, ``bad_ulid``, ``missing_oneof``, ``wrong_icd_version``, ``bad_value``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from sapient_msg import proto_options_pb2
from sapient_msg.bsi_flex_335_v2_0 import registration_pb2

from skywarden.core.errors import InputRejected

ICD_VERSION: Final = "BSI Flex 335 v2.0"

UUID_RE: Final = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
"""RFC 4122 textual form (any version; the ICD does not restrict it)."""
ULID_RE: Final = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")
"""ULID spec: Crockford base-32 (no I, L, O, U), 26 characters, first <= 7 (128 bits)."""

_OPTIONAL_ONEOFS: Final = frozenset({"DetectionReport.velocity_oneof", "Alert.location_oneof"})
_PKG: Final = "sapient_msg."
_FIELD_OPTIONS: Any = proto_options_pb2.field_options
# Descriptors come from the upb C extension, whose classes the protobuf stubs do not name:
# they are handled as ``Any`` here, and only their documented attributes are used.
_Desc = Any

_NodeType = registration_pb2.Registration.NodeType
EFFECTOR_NODE_TYPES: Final[frozenset[int]] = frozenset(
    {
        _NodeType.NODE_TYPE_KINETIC,
        _NodeType.NODE_TYPE_JAMMER,
        _NodeType.NODE_TYPE_CYBER,
        _NodeType.NODE_TYPE_LDEW,
        _NodeType.NODE_TYPE_RFDEW,
    }
)
"""Node types that act on a target (ICD NodeType list). skywarden never addresses them."""


def is_uuid(s: str) -> bool:
    return UUID_RE.match(s) is not None


def is_ulid(s: str) -> bool:
    return ULID_RE.match(s) is not None


def _field_options(f: _Desc) -> proto_options_pb2.ValidationOptions | None:
    opts = f.GetOptions()
    if not opts.HasExtension(_FIELD_OPTIONS):
        return None
    result: proto_options_pb2.ValidationOptions = opts.Extensions[_FIELD_OPTIONS]
    return result


_STRING: Final = FieldDescriptor.TYPE_STRING
_ENUM: Final = FieldDescriptor.TYPE_ENUM
_FLOATS: Final = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})


@dataclass(frozen=True)
class _Rule:
    """One field's rules, read once from its descriptor (reading the options of every field
    of every message was a quarter of the SAPIENT link's CPU at a few thousand messages/s)."""

    name: str
    repeated: bool
    presence: bool
    mandatory: bool
    type: int
    nested: bool  # a message of the ICD's package: checked recursively
    uuid: bool
    ulid: bool

    @property
    def checks_values(self) -> bool:
        return (
            self.nested
            or self.type in _FLOATS
            or (self.type == _STRING and (self.uuid or self.ulid))
            or (self.type == _ENUM and self.mandatory)
        )


_Plan = tuple[tuple[_Rule, ...], tuple[str, ...]]
_PLANS: dict[str, _Plan] = {}


def _plan(d: _Desc) -> _Plan:
    """A message type's rules: every field's, and the oneofs that must be set. Built on first
    use per type; the descriptors never change."""
    plan = _PLANS.get(d.full_name)
    if plan is None:
        rules = []
        for f in d.fields:
            opts = _field_options(f)
            nested = f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.full_name.startswith(
                _PKG
            )
            rules.append(
                _Rule(
                    f.name,
                    bool(f.is_repeated),
                    bool(f.has_presence),
                    opts is not None and opts.is_mandatory,
                    int(f.type),
                    nested,
                    opts is not None and opts.is_uuid,
                    opts is not None and opts.is_ulid,
                )
            )
        oneofs = tuple(
            o.name
            for o in d.oneofs
            if not o.name.startswith("_")  # proto3 ``optional`` presence: not a real choice
            and f"{d.name}.{o.name}" not in _OPTIONAL_ONEOFS
        )
        plan = _PLANS[d.full_name] = (tuple(rules), oneofs)
    return plan


def check_message(msg: Message, path: str = "") -> None:
    """Raise :class:`InputRejected` naming the first ICD rule ``msg`` breaks (recursive)."""
    d: _Desc = msg.DESCRIPTOR
    rules, oneofs = _plan(d)
    for r in rules:
        if r.repeated:
            values = getattr(msg, r.name)
            if r.mandatory and not values:
                raise InputRejected("missing_field", f"{path}.{r.name} is empty")
            if values and r.checks_values:
                for value in values:
                    _check_value(r, value, f"{path}.{r.name}")
            continue
        if r.presence and not msg.HasField(r.name):
            if r.mandatory:
                raise InputRejected("missing_field", f"{path}.{r.name} is missing")
            continue
        value = getattr(msg, r.name)
        if r.mandatory and r.type == _STRING and value == "":
            raise InputRejected("missing_field", f"{path}.{r.name} is empty")
        if r.checks_values:
            _check_value(r, value, f"{path}.{r.name}")
    for name in oneofs:
        if msg.WhichOneof(name) is None:
            raise InputRejected("missing_oneof", f"{path or d.name}: none of {name}")
    _semantic_rules(msg, path)


def _check_value(r: _Rule, value: object, path: str) -> None:
    if r.nested:
        if isinstance(value, Message):
            check_message(value, path)
        return
    if r.type in _FLOATS:
        if isinstance(value, float) and not math.isfinite(value):
            raise InputRejected("bad_value", f"{path} is {value}")
        return
    if r.type == _STRING and isinstance(value, str):
        if r.uuid and not is_uuid(value):
            raise InputRejected("bad_uuid", f"{path}={value[:64]!r}")
        if r.ulid and not is_ulid(value):
            raise InputRejected("bad_ulid", f"{path}={value[:64]!r}")
    elif r.type == _ENUM and r.mandatory and value == 0:
        raise InputRejected("unspecified_enum", f"{path} is UNSPECIFIED")


def _semantic_rules(msg: Message, path: str) -> None:
    """Rules of the ICD text that the field options do not carry (see module docstring)."""
    name = msg.DESCRIPTOR.name
    if name == "Registration" and path.endswith("registration"):
        version = getattr(msg, "icd_version", "")
        if version != ICD_VERSION:
            raise InputRejected("wrong_icd_version", f"{path}.icd_version={version[:64]!r}")
        for node in getattr(msg, "dependent_nodes", []):
            if not is_uuid(node):
                raise InputRejected("bad_uuid", f"{path}.dependent_nodes={node[:64]!r}")
    elif name == "TaskDefinition" and not msg.HasField("concurrent_tasks"):
        raise InputRejected("missing_field", f"{path}.concurrent_tasks is missing")
    elif name == "FollowObject":
        oid = getattr(msg, "follow_object_id", "")
        if not is_ulid(oid):
            raise InputRejected("bad_ulid", f"{path}.follow_object_id={oid[:64]!r}")
