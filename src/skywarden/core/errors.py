"""The error tree. Every error keeps the offending value so a reject can be counted and shown.

::

    SkywardenError
    ├── ConfigError          a site or scenario file is wrong: names the field and the reason
    ├── InputRejected        one sensor message is malformed: names the reason; the stream goes on
    │   └── DecodeError      bytes that do not parse as the wire format
    └── StateError           an illegal state transition (a track or an alert)
"""

from __future__ import annotations


class SkywardenError(Exception):
    """Base of every error skywarden raises on purpose."""


class ConfigError(SkywardenError):
    """A configuration file is invalid.

    ``field`` is the dotted path of the offending field (``sensors[2].sigma.az_rad``),
    ``reason`` says what is wrong with it.
    """

    def __init__(self, field: str, reason: str, source: str = "") -> None:
        self.field = field
        self.reason = reason
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {reason}")


class InputRejected(SkywardenError):
    """One input message was rejected; ``reason`` is a short stable key used as a counter name."""

    def __init__(self, reason: str, detail: str = "", raw: object = None) -> None:
        self.reason = reason
        self.detail = detail
        self.raw = raw
        super().__init__(f"{reason}: {detail}" if detail else reason)


class DecodeError(InputRejected):
    """Bytes that do not decode as the expected wire format."""


class StateError(SkywardenError):
    """An illegal state transition; the message names the state and the attempted move."""
