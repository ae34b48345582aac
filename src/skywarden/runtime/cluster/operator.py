"""Operator actions made through central: journaled on the site's raw stream, then applied.

An acknowledge (or resolve) of an alert and a zone/whitelist edit change what a site's engine
does next, so they are inputs like any report: central appends them as control records to
``skywarden.site.<site>.raw._ctl`` and answers only once JetStream has stored them (on R3,
a quorum). The worker that owns the site feeds them to its record machine where they stand
in the stream; a worker that takes the site over replays them in the same place. The
resulting alert transition comes back on the site's alerts subject like any other.

Edits are checked here, against the site as registered, before anything is journaled: a
zone table the engine could not apply is refused with the field at fault, never stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from skywarden.core.errors import ConfigError
from skywarden.core.site import site_from_skybench_header
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.central import CentralPicture
from skywarden.runtime.cluster.topology import SITES_BUCKET, check_token, control_subject
from skywarden.runtime.engine.engine import OPERATOR_ACTIONS
from skywarden.runtime.engine.site_edits import SITE_EDIT_KEY, apply_site_edit, site_edit_payload
from skywarden.store.records import ConfigChange, OperatorAction


class UnknownTarget(LookupError):
    """No such site, or no such alert at that site in the central picture."""


class CentralOps:
    def __init__(
        self,
        js: JetStreamContext,
        wall: Callable[[], float],
        picture: CentralPicture | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.js = js
        self.wall = wall
        self.picture = picture
        self.timeout_s = timeout_s

    async def _journal(self, site: str, rec: codec.ControlRecord) -> int:
        ack = await self.js.publish(
            control_subject(site), codec.encode_control(site, rec), timeout=self.timeout_s
        )
        return int(ack.seq)

    async def alert_action(self, site: str, alert_id: str, action: str, operator: str) -> int:
        """Journal an acknowledge/resolve of ``alert_id`` at ``site``; the raw sequence."""
        check_token(site)
        if action not in OPERATOR_ACTIONS:
            raise ValueError(f"action {action!r}: one of {', '.join(OPERATOR_ACTIONS)}")
        if self.picture is not None:
            v = self.picture.sites.get(site)
            if v is None or alert_id not in v.alerts:
                raise UnknownTarget(f"no alert {alert_id!r} at site {site!r}")
        rec = OperatorAction(self.wall(), operator, action, alert_id)
        return await self._journal(site, rec)

    async def edit_site(self, site: str, payload: Mapping[str, Any], actor: str) -> int:
        """Journal new zones and whitelist for ``site`` (checked against its registration)."""
        check_token(site)
        kv = await self.js.key_value(SITES_BUCKET)
        try:
            entry = await kv.get(site)
        except KeyNotFoundError:
            raise UnknownTarget(f"no site {site!r}") from None
        base = site_from_skybench_header(json.loads(entry.value or b"{}")["header"])
        try:
            edited = apply_site_edit(base, dict(payload))
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise ConfigError("zones", f"{type(e).__name__}: {e}") from None
        rec = ConfigChange(self.wall(), actor, SITE_EDIT_KEY, None, site_edit_payload(edited))
        return await self._journal(site, rec)
