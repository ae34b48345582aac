"""The microphone node: SRP-PHAT bearings, and a 4-microphone recording reported over a real
SAPIENT link on loopback (the node's CLI, reading the WAV stream from standard input)."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from skywarden.nodes.acoustic_bearing import srp_phat
from skywarden.nodes.acoustic_node import parse_mics

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dd" / "audio"
if not DATA.is_dir():  # a worktree under /work/wt/
    DATA = Path("/work/shared/data/dd/audio")
MICS = np.array([[0.25, 0.0], [0.0, 0.25], [-0.25, 0.0], [0.0, -0.25]])


def _array_recording(src: np.ndarray, az_deg: float, rate: int, noise: float) -> np.ndarray:
    """``src`` as a far-field wave from ``az_deg`` reaching the four MICS (plus noise)."""
    u = np.array([math.sin(math.radians(az_deg)), math.cos(math.radians(az_deg))])
    spec = np.fft.rfft(src)
    f = np.fft.rfftfreq(src.size, 1.0 / rate)
    chans = [
        np.fft.irfft(spec * np.exp(2j * np.pi * f * (p @ u) / 343.0), n=src.size) for p in MICS
    ]
    rng = np.random.default_rng(5)
    return np.stack(chans, axis=1) + noise * rng.standard_normal((src.size, len(MICS)))


@pytest.mark.parametrize("az", [0.0, 37.0, 123.0, 250.0, 359.0])
def test_srp_phat_finds_the_azimuth(az: float) -> None:
    rng = np.random.default_rng(int(az))
    x = _array_recording(rng.standard_normal(16000), az, 16000, 0.3)
    b = srp_phat(x.astype(np.float32), 16000, MICS)
    err = (math.degrees(b.azimuth_rad) - az + 180) % 360 - 180
    assert abs(err) <= 2.0
    assert b.peak_ratio > 3.0
    noise = srp_phat(rng.standard_normal((16000, 4)).astype(np.float32), 16000, MICS)
    assert noise.peak_ratio < b.peak_ratio


def test_mics_geometry_parsing() -> None:
    assert parse_mics("0.1,0;0,0.1;-0.1,0").shape == (3, 2)
    with pytest.raises(ValueError):
        parse_mics("0.1,0")
    with pytest.raises(ValueError):
        srp_phat(np.zeros((100, 3), np.float32), 16000, MICS)


@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} absent (shared dataset)")
def test_acoustic_node_reports_a_drone_with_its_bearing(tmp_path: Path) -> None:
    from adapters_helpers import MemoryIngest, wait_for
    from skywarden.core.clock import ManualClock
    from skywarden.core.geo import GeoOrigin
    from skywarden.nodes.audio_features import read_wav
    from skywarden.sensors.links.sapient_server import SapientServer
    from skywarden.sensors.sapient import SapientSessions

    sky = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f"
    mic = "0a0a0a0a-1111-4222-8333-444455556666"
    drone = read_wav(DATA / "DRONE_019.wav").mono[: 16000 * 6]  # a test clip
    x = _array_recording(drone.astype(np.float64), 60.0, 16000, 0.002)
    wav = tmp_path / "array.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(4)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())

    async def scenario() -> None:
        ingest = MemoryIngest()
        server = SapientServer(
            SapientSessions(GeoOrigin(51.0, -1.0), sky), ingest, ManualClock(100.0)
        )
        port = await server.start()
        try:
            cmd = [
                sys.executable, "-m", "skywarden.cli.main", "acoustic", "node", "-",
                "--mics", ";".join(f"{e},{n}" for e, n in MICS),
                "--link", f"127.0.0.1:{port}", "--node-id", mic, "--dest", sky,
                "--lat", "51.0", "--lon", "-1.0",
            ]  # fmt: skip
            proc = await asyncio.to_thread(
                subprocess.run, cmd, input=wav.read_bytes(), capture_output=True, timeout=120
            )
            assert proc.returncode == 0, proc.stderr.decode()
            await wait_for(lambda: len(ingest.detections) >= 4)
            dets = ingest.detections
            assert {d.class_hint for d in dets} == {"drone"}  # type: ignore[attr-defined]
            for d in dets:
                assert d.kind == "az"  # type: ignore[attr-defined]
                err = (math.degrees(float(np.asarray(d.z)[0])) - 60.0 + 180) % 360 - 180  # type: ignore[attr-defined]
                assert abs(err) < 3.0
        finally:
            await server.stop()

    asyncio.run(scenario())
