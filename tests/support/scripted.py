"""A :class:`PictureSource` driven by hand: for tests, demos and docs (starlette's TestClient idea).

``push(picture)`` publishes a picture to every subscriber, exactly as the runtime does after a
pipeline step; acknowledge and resolve move the alerts it holds through their guarded
``AlertState`` transitions and publish the result. Nothing runs on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from skywarden.alerts.lifecycle import Alert, AlertState
from skywarden.core.site import Site
from skywarden.service.source import Listener, Picture, UnknownAlertError, Unsubscribe


class ScriptedSource:
    """Publishes the pictures a test gives it; ``wall_t`` of acks comes from ``now``."""

    def __init__(self, site: Site, mode: str = "simulation", now: float = 0.0) -> None:
        self._site = site
        self._mode = mode
        self.now = now
        self._picture: Picture | None = None
        self._listeners: list[Listener] = []
        self.started = False
        self.stopped = False
        self.site_updates = 0
        self.health: dict[str, Any] = {}

    @property
    def site(self) -> Site:
        return self._site

    @property
    def mode(self) -> str:
        return self._mode

    def current(self) -> Picture | None:
        return self._picture

    def subscribe(self, listener: Listener) -> Unsubscribe:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def push(self, picture: Picture) -> None:
        self._picture = picture
        for fn in list(self._listeners):
            fn(picture)

    async def acknowledge(self, alert_id: str, by: str) -> Alert:
        return self._move(alert_id, AlertState.ACKNOWLEDGED, by)

    async def resolve(self, alert_id: str, by: str) -> Alert:
        return self._move(alert_id, AlertState.RESOLVED, by)

    def _move(self, alert_id: str, state: AlertState, by: str) -> Alert:
        pic = self._picture
        found = [a for a in (pic.alerts if pic else ()) if a.id == alert_id]
        if pic is None or not found:
            raise UnknownAlertError(alert_id)
        old = found[0]
        new = replace(old, state=old.state.to(state), updated_t=self.now)
        if state is AlertState.ACKNOWLEDGED:
            new = replace(new, acknowledged_by=by, acknowledged_t=self.now)
        else:
            new = replace(new, resolved_t=self.now)
        alerts = tuple(new if a.id == alert_id else a for a in pic.alerts)
        self.push(replace(pic, seq=pic.seq + 1, alerts=alerts))
        return new

    async def update_site(self, site: Site) -> None:
        """``SiteEditable``: zone and whitelist edits land here (``site`` returns them)."""
        self._site = site
        self.site_updates += 1

    def sensor_health(self) -> Mapping[str, Any]:
        """``SensorHealthSource``: whatever a test put in ``health``."""
        return dict(self.health)

    def stats(self) -> Mapping[str, float]:
        return {"source.pictures": float(self._picture.seq if self._picture else 0)}

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True
