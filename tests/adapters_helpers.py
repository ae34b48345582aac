"""An in-memory ``IngestPort`` for link-level tests: records every batch it is handed.

The end-to-end tests (``test_sapient_live*``, ``test_mqtt_*``) use the runtime's real
journaling port; this one lets a link test see exactly what was submitted, in which batches,
and make the journal refuse (``fail = True``) to prove nothing is acknowledged then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from skywarden.core.inbound import Inbound


class MemoryIngest:
    def __init__(self) -> None:
        self.batches: list[list[Inbound]] = []
        self.fail = False
        self.delay_s = 0.0

    async def submit(self, batch: Sequence[Inbound]) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("journal refused (test)")
        self.batches.append(list(batch))

    @property
    def messages(self) -> list[Inbound]:
        return [m for b in self.batches for m in b]

    @property
    def detections(self) -> list[object]:
        return [d for m in self.messages for d in m.detections]


async def wait_for(cond: object, timeout_s: float = 5.0) -> None:
    """Poll ``cond()`` on the loop until true (asserts when the time runs out)."""
    assert callable(cond)
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
