"""``skywarden acoustic node``: a microphone node that reports drones and helicopters it hears.

Audio comes from a WAV file or a WAV stream on standard input (``-``: e.g.
``arecord -D hw:1 -f S16_LE -r 16000 -c 4 -t wav | skywarden acoustic node - ...`` for an
ALSA device). Every second is classified (``acoustic.classify_audio`` for files,
``StreamClassifier`` for streams); a second that is not background becomes a report. With
a multi-channel input and the array geometry (``--mics``), SRP-PHAT gives its azimuth and
the report goes to skywarden's SAPIENT link as a DetectionReport (azimuth, class,
confidence). Without a bearing there is no location to report: the decision is written as a
JSON line (the ``acoustic classify`` format) instead.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.acoustic import SecondClass, load_model, smooth_step
from skywarden.nodes.acoustic_bearing import Bearing, srp_phat
from skywarden.nodes.audio_features import SAMPLE_RATE, pcm_to_float, resample, window_features
from skywarden.nodes.sapient_node import Report, ulid


def parse_mics(text: str) -> NDArray[np.float64]:
    """``"e1,n1;e2,n2;..."`` (metres) -> array (m, 2); at least two microphones."""
    rows = [r for r in text.split(";") if r.strip()]
    pts = np.array([[float(v) for v in r.split(",")] for r in rows], dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 2:
        raise ValueError(f"--mics {text!r}: need 'e,n;e,n;...' for two or more microphones")
    return pts


def stream_seconds(fh: BinaryIO) -> Iterator[tuple[NDArray[np.float32], int]]:
    """One-second blocks (samples x channels, at the stream's own rate) of a WAV stream."""
    with wave.open(fh, "rb") as w:
        ch, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        while True:
            raw = w.readframes(rate)
            if len(raw) < ch * width * rate // 2:
                return
            yield pcm_to_float(raw, width, ch), rate


@dataclass
class StreamClassifier:
    """Per-second classification with the causal smoothing of ``acoustic.smooth``."""

    def __post_init__(self) -> None:
        self.model = load_model()
        self.belief: NDArray[np.float64] | None = None

    def step(self, t: float, mono: NDArray[np.float32]) -> SecondClass:
        self.belief = smooth_step(self.belief, self.model.proba(window_features(mono))[0])
        q = self.belief
        k = int(np.argmax(q))
        return SecondClass(t, self.model.classes[k], float(q[k]), tuple(float(v) for v in q))


def bearing_of(block: NDArray[np.float32], mics: NDArray[np.float64] | None) -> Bearing | None:
    if mics is None or block.shape[1] < 2:
        return None
    return srp_phat(block, SAMPLE_RATE, mics)


def report_for(
    c: SecondClass, bearing: Bearing | None, salt: str, seq: int, object_id: str
) -> Report | None:
    """A SAPIENT report for a located, non-background second (None otherwise)."""
    if c.label == "background" or bearing is None:
        return None
    return Report(
        c.t,
        object_id,
        ulid(c.t, seq, salt),
        bearing.azimuth_rad,
        None,
        bearing.sigma_rad,
        c.label,
        c.score,
    )


def seconds(
    blocks: Iterator[tuple[NDArray[np.float32], int]], t0: float
) -> Iterator[tuple[float, NDArray[np.float32]]]:
    """(time, block at SAMPLE_RATE) for each one-second block."""
    for i, (block, rate) in enumerate(blocks):
        yield t0 + i, resample(block, rate)
