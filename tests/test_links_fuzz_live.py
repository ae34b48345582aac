"""A small run of ``benchmarks/fuzz_links.py`` through a running ``skywarden run``.

Every link kind the site can have (SAPIENT TCP, Beast and SBS TCP, Remote ID and CAT048 UDP,
MQTT, the HTTP ingest route) gets a few thousand mutated and random inputs through its real
socket; the service must stay up and healthy, answer no 5xx, raise nothing a parser does
not own, still take a valid input on every link afterwards, stop cleanly and leave a
journal that verifies. The full run (100,000 inputs per kind) is the benchmark's
``--n 100000``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_links.py"


def _fuzz_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_links", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_links"] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


def test_every_link_kind_survives_fuzzing_through_the_running_service(tmp_path: Path) -> None:
    if shutil.which("mosquitto", path="/usr/sbin:/usr/bin") is None:
        pytest.skip("mosquitto is not installed (Debian package mosquitto)")
    fz = _fuzz_module()
    rep = asyncio.run(fz.run_fuzz(1500, 7, fz.KINDS, tmp_path, n_http=300))
    summary = rep.as_dict()
    assert rep.alive and rep.stop_rc == 0, summary
    assert rep.health_failures == 0 and rep.health_polls > 0, summary
    assert rep.http_5xx == 0 and rep.internal_errors == 0 and rep.tracebacks == 0, summary
    assert rep.verify_rc == 0, rep.verify_out
    assert set(rep.kinds) == set(fz.KINDS)
    for kind, k in rep.kinds.items():
        assert k.sent >= k.target and k.valid_after, (kind, k)
    # the inputs reached the parsers (not lost in a socket buffer)
    for kind in ("sapient", "remoteid", "asterix", "mqtt", "http"):
        assert rep.kinds[kind].counted >= rep.kinds[kind].sent, (kind, rep.kinds[kind])
    for kind in ("beast", "sbs"):  # streams: every byte written was read by the link
        assert rep.kinds[kind].bytes_read >= rep.kinds[kind].bytes_sent > 0, rep.kinds[kind]
    # SAPIENT refusals were answered (an Error per malformed frame, mostly)
    assert rep.kinds["sapient"].replies.get("error", 0) > 500
    statuses = rep.kinds["http"].status
    assert set(statuses) <= {"202", "400", "413", "422", "429"}, statuses
    assert rep.ok
