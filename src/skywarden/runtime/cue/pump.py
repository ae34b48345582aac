"""Cue tasks to real camera heads, off the live loop.

A real head (``controller.PtzDriver``, e.g. an ONVIF camera through ``onvif-zeep``) answers
over the network in tens of milliseconds to seconds; the live loop must not wait for it.
:class:`DriverPump` hands each task to one worker thread. Per camera only the newest task
is kept: a LookAt is a pointing, and an older one is stale the moment a newer exists, so a
slow camera gets the latest direction rather than a backlog. A failed send is counted
(``cue.driver_failed``) and never raised into the loop; the next task tries again. Each
task handed here is also a ``cue.task`` record the live loop journals (``runtime.live.cue``),
so what was asked of each camera is on record whether or not the camera answered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from skywarden.core.counters import Counters
from skywarden.runtime.cue.controller import PtzDriver

log = logging.getLogger(__name__)


class DriverPump:
    def __init__(self, drivers: Mapping[str, PtzDriver], counters: Counters) -> None:
        self.drivers = dict(drivers)
        self.counters = counters
        for k in ("cue.driver_sent", "cue.driver_failed", "cue.driver_superseded"):
            counters.inc(k, 0)  # every key exists before the worker can add one
        self._pending: dict[str, tuple[bytes, float]] = {}
        self._cv = threading.Condition()
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def submit(self, camera: str, body: bytes, t_unix: float) -> bool:
        """Queue a task for ``camera``'s head (replacing one not yet sent); False when the
        camera has no driver."""
        if camera not in self.drivers:
            return False
        with self._cv:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cue-ptz", daemon=True)
                self._thread.start()
            if camera in self._pending:
                self.counters.inc("cue.driver_superseded")
            self._pending[camera] = (body, t_unix)
            self._cv.notify()
        return True

    def drain(self, timeout_s: float) -> bool:
        """Wait until every queued task was sent (or failed); False on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._pending and not self._busy, timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._pending or self._stopping)
                if self._stopping:
                    return
                camera = next(iter(self._pending))
                body, t = self._pending.pop(camera)
                self._busy = True
            try:
                self.drivers[camera].obey(body, t)
                self.counters.inc("cue.driver_sent")
            except Exception as e:  # a camera's failure must not stop the others
                self.counters.inc("cue.driver_failed")
                log.warning("cue: camera %s did not take the task: %s", camera, e)
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()
