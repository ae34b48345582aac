"""Crash safety at the store level: SIGKILL a writer mid-stream, every acked record survives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from record_helpers import BACKENDS, journal_url
from skywarden.store.integrity import verify
from skywarden.store.journal import open_journal
from skywarden.store.records import RawMessage

WRITER = textwrap.dedent(
    """
    import sys
    from skywarden.store.journal import open_journal
    from skywarden.store.records import RawMessage

    j = open_journal(sys.argv[1])
    i = 0
    while True:  # until killed: single appends and small batches, ack after each return
        batch = [
            RawMessage(float(i + k), "radar-1", "skybench/1", b"payload-%d" % (i + k), {"i": i + k})
            for k in range(1 + i % 3)
        ]
        seqs = j.append_many(batch)
        for k, seq in enumerate(seqs):
            print(seq, i + k, flush=True)
        i += len(batch)
    """
)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from journal_url(request.param, tmp_path, "crash", segment_records=50)


def test_sigkill_mid_stream_loses_no_acked_record(url: str) -> None:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.Popen(
        [sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True, env=env
    )
    acked: dict[int, int] = {}
    try:
        assert p.stdout is not None
        for line in p.stdout:
            seq, i = line.split()
            acked[int(seq)] = int(i)
            if len(acked) >= 400:
                break
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        for line in p.stdout:  # acks already printed before the kill landed
            if line.strip():
                seq, i = line.split()
                acked[int(seq)] = int(i)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == -signal.SIGKILL
    assert len(acked) >= 400
    r = verify(url)
    assert r.ok, r.summary()
    with open_journal(url) as j:
        found = {e.seq: e.record for e in j.read(kinds=["raw"])}
        for seq, i in acked.items():
            rec = found.get(seq)
            assert isinstance(rec, RawMessage), f"acked seq {seq} missing after the crash"
            assert rec.payload == b"payload-%d" % i and rec.parsed == {"i": i}
        # the journal carries on where it stopped
        nxt = j.append(RawMessage(1e6, "radar-1", "skybench/1", b"after", None))
        assert nxt == max(found) + 1
        assert j.verify().ok
