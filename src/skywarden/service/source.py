"""What the service needs from whatever produces the air picture: the ``PictureSource`` Protocol.

The service layer sits below the runtime (``lint-imports`` enforces it), so it cannot import
the pipeline. Instead the runtime hands ``create_app`` an object that fits this Protocol; the
app's lifespan calls ``start()`` and ``stop()`` on it, and the WebSocket hub ``subscribe``s to
it. Tests hand in a ``ScriptedSource`` (``tests/support/scripted.py``) (the httpx
``MockTransport`` idea: swap the producer for something a test drives step by step).

A :class:`Picture` is one immutable snapshot: every track the tracker publishes, the threat
assessment of each confirmed track, the alerts an operator should see (active and recently
resolved) and a short trail per track for a console's cold start. Values stay core/threat/
alerts dataclasses here; they become pydantic models only in ``schemas``.

Threading: ``subscribe`` listeners are called on the event loop thread, synchronously, and must
not block (the hub only enqueues). ``acknowledge``/``resolve`` are coroutines so a source can
serialise them with its own pipeline step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from skywarden.alerts.lifecycle import Alert, AlertEvent
from skywarden.core.bearing import BearingHit
from skywarden.core.site import Site
from skywarden.core.track import TrackState
from skywarden.threat.assess import ThreatAssessment
from skywarden.threat.launch import LaunchPoint


@dataclass(frozen=True, slots=True)
class TrailPoint:
    """One past position of a track (ENU metres, site time); ``coasting`` when predicted only."""

    t: float
    e: float
    n: float
    u: float
    coasting: bool = False


@dataclass(frozen=True)
class Picture:
    """The air picture after one update.

    ``t`` is site time (seconds, the data's own clock); ``wall_t`` is when the source
    published it (UNIX seconds from the runtime's clock); ``seq`` increases by one per update.
    """

    seq: int
    t: float
    wall_t: float
    tracks: tuple[TrackState, ...] = ()
    assessments: Mapping[str, ThreatAssessment] = field(default_factory=dict)
    alerts: tuple[Alert, ...] = ()
    trails: Mapping[str, tuple[TrailPoint, ...]] = field(default_factory=dict)
    # per track: predicted impact and launch (the tracks.jsonl fields, ``Frame.ground_fields``)
    ground: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    bearings: tuple[BearingHit, ...] = ()  # bearing-only reports of the latest step
    launches: Mapping[str, LaunchPoint] = field(default_factory=dict)  # drone tracks' estimates
    # the alert transitions since the previous picture, in order (the engine's events: every
    # step's and every operator's), for the alert sinks and peers that follow the picture
    events: tuple[AlertEvent, ...] = ()


Listener = Callable[[Picture], None]
Unsubscribe = Callable[[], None]


class UnknownAlertError(KeyError):
    """``acknowledge``/``resolve`` named an alert the source does not know (HTTP 404)."""


class PictureSource(Protocol):
    """The producer of the air picture, as the service sees it.

    ``acknowledge`` and ``resolve`` return the updated alert; they raise :class:`UnknownAlertError`
    for an unknown id and ``core.errors.StateError`` for an illegal transition (HTTP 409).
    """

    @property
    def site(self) -> Site: ...

    @property
    def mode(self) -> str:
        """``simulation``, ``replay`` or ``live``: shown on the console."""
        ...

    def current(self) -> Picture | None: ...

    def subscribe(self, listener: Listener) -> Unsubscribe: ...

    async def acknowledge(self, alert_id: str, by: str) -> Alert: ...

    async def resolve(self, alert_id: str, by: str) -> Alert: ...

    def stats(self) -> Mapping[str, float]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class SiteEditable(Protocol):
    """Optional: a source that takes zone and whitelist edits (``PUT``/``POST`` on zones).

    ``update_site`` must make the new site's zones and whitelist govern threat assessment from
    its next step on, and ``site`` return it from then on. A source without it answers zone and
    whitelist edits with HTTP 501.
    """

    async def update_site(self, site: Site) -> None: ...


@runtime_checkable
class SensorHealthSource(Protocol):
    """Optional: per-sensor health, keyed by sensor id.

    Each value may be a mapping or an object with any of: ``last_report_t`` (UNIX s),
    ``rate_hz``, ``status`` (``ok``/``late``/``lost`` or similar), ``registered``, plus other
    scalar fields shown as they are. Missing fields are rendered as unknown, never guessed.
    """

    def sensor_health(self) -> Mapping[str, Any]: ...


@runtime_checkable
class ChipSource(Protocol):
    """Optional: the latest image chip of a track a camera was cued to (slew-to-cue).

    ``track_chip`` returns ``None`` when there is none, else a mapping with ``jpeg_b64`` (the
    JPEG), ``camera``, ``t_image``, ``label``, ``confidence`` and ``synthetic`` (true when a
    simulated camera rendered it: never to be taken for a photograph).
    """

    def track_chip(self, track_id: str) -> Mapping[str, Any] | None: ...
