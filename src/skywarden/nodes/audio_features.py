"""Audio in and the per-second features the acoustic classifier reads.

Reading: PCM WAV (8/16/24/32-bit integer) through the standard library, resampled to
``SAMPLE_RATE`` by polyphase filtering when the file has another rate. Multi-channel files
keep their channels (the bearing estimator needs them); the classifier uses the channel mean.

Features of one window (one second): a log-mel spectrogram (``N_MELS`` bands, 32 ms frames,
16 ms hop) summarised by per-band mean, standard deviation and 90th percentile, plus the mean
absolute frame-to-frame change of each band (how steady the tone is: a drone's blade-pass
harmonics are steady, a helicopter's rotor slaps at a few hertz) and the dominant modulation
frequency of the broadband envelope, the tonal line prominence (``tonal_peaks``), and
blade-pass lines at 3.9 Hz resolution (``harmonic_lines``: line prominence, harmonic comb,
fundamental, steadiness). Everything is relative to the window's own level where it can be,
so a far and a near source of one class look alike. The mean and spread of 13 cepstral
coefficients were features until session 10: without them the classifier held up better in
grouped cross-validation on the training clips, most of all with a source mixed into another
site's background (docs/vision.md, session 10, audio).
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skywarden.core.errors import InputRejected

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 40
F_MIN = 50.0
F_MAX = 8000.0


@dataclass(frozen=True)
class Audio:
    """Samples as float32 in [-1, 1], shape (n_samples, n_channels), at ``rate`` Hz."""

    samples: NDArray[np.float32]
    rate: int

    @property
    def mono(self) -> NDArray[np.float32]:
        return np.asarray(self.samples.mean(axis=1), dtype=np.float32)

    @property
    def duration_s(self) -> float:
        return float(self.samples.shape[0]) / float(self.rate)


def pcm_to_float(raw: bytes, sampwidth: int, channels: int) -> NDArray[np.float32]:
    """Interleaved little-endian PCM bytes to (n, channels) float32 in [-1, 1]."""
    if channels < 1:
        raise InputRejected("audio.channels", f"{channels} channels")
    if sampwidth == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif sampwidth == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif sampwidth == 3:
        b = np.frombuffer(raw[: len(raw) // 3 * 3], dtype=np.uint8).reshape(-1, 3)
        v = b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8)
        v |= b[:, 2].astype(np.int32) << 16
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif sampwidth == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        raise InputRejected("audio.sample_width", f"{sampwidth} bytes per sample")
    n = x.size // channels
    return np.ascontiguousarray(x[: n * channels].reshape(n, channels))


def resample(x: NDArray[np.float32], rate: int, target: int = SAMPLE_RATE) -> NDArray[np.float32]:
    """Polyphase resampling along axis 0 (identity when the rates match)."""
    if rate == target:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, target)
    y = resample_poly(x, target // g, rate // g, axis=0)
    return np.asarray(y, dtype=np.float32)


def read_wav(path: str | Path) -> Audio:
    """Read a PCM WAV file; reject anything else with a reason."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise InputRejected("audio.not_wav", f"{path}: {exc}") from exc
    if rate < 8000:
        raise InputRejected("audio.rate", f"{rate} Hz is below 8 kHz")
    x = pcm_to_float(raw, width, channels)
    return Audio(resample(x, rate), SAMPLE_RATE)


def mel_filterbank(
    n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE
) -> NDArray[np.float32]:
    """Triangular filters on the mel scale (HTK formula), shape (n_mels, n_fft // 2 + 1)."""

    def hz_to_mel(f: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(2595.0 * np.log10(1.0 + f / 700.0))

    def mel_to_hz(m: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(700.0 * (10.0 ** (m / 2595.0) - 1.0))

    top = min(F_MAX, rate / 2.0)
    mels = np.linspace(hz_to_mel(np.array(F_MIN)), hz_to_mel(np.array(top)), n_mels + 2)
    edges = mel_to_hz(mels)
    freqs = np.linspace(0.0, rate / 2.0, n_fft // 2 + 1)
    fb = np.zeros((n_mels, freqs.size), dtype=np.float64)
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        fb[i] = np.clip(np.minimum(up, down), 0.0, None)
    return fb.astype(np.float32)


_FB = mel_filterbank()
_WIN = np.hanning(N_FFT).astype(np.float32)


def log_mel(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Log-mel spectrogram of a mono signal, shape (frames, N_MELS), in dB."""
    if x.size < N_FFT:
        x = np.pad(x, (0, N_FFT - x.size))
    n = 1 + (x.size - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    frames = x[idx] * _WIN
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = power @ _FB.T
    return np.asarray(10.0 * np.log10(mel + 1e-10), dtype=np.float32)


def window_features(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """The feature vector of one mono window (about one second)."""
    s = log_mel(x)
    level = float(np.median(s))
    rel = s - level
    mean = rel.mean(axis=0)
    std = s.std(axis=0)
    p90 = np.percentile(rel, 90, axis=0)
    flux = np.abs(np.diff(s, axis=0)).mean(axis=0) if s.shape[0] > 1 else np.zeros(N_MELS)
    env = s.mean(axis=1)
    env = env - env.mean()
    spec = np.abs(np.fft.rfft(env * np.hanning(env.size))) if env.size > 4 else np.zeros(3)
    frame_rate = SAMPLE_RATE / HOP
    mod_freqs = np.fft.rfftfreq(env.size, 1.0 / frame_rate) if env.size > 4 else np.zeros(3)
    band = (mod_freqs >= 1.0) & (mod_freqs <= 20.0)
    if band.any() and spec[band].sum() > 0:
        mod_f = float(mod_freqs[band][np.argmax(spec[band])])
        mod_ratio = float(spec[band].max() / (spec[band].mean() + 1e-9))
    else:
        mod_f, mod_ratio = 0.0, 0.0
    extra = np.array([level, float(env.std()), mod_f, mod_ratio], dtype=np.float32)
    return np.concatenate(
        [
            mean,
            std,
            p90,
            flux,
            extra,
            tonal_peaks(x),
            harmonic_lines(x),
        ]
    ).astype(np.float32)


def tonal_peaks(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """How tonal the window is between 94 Hz and 4 kHz: the prominence (dB above a 15-bin
    running median) of the strongest line, the mean of the five strongest, and how many
    bins stand 6 and 10 dB out. Blade-pass harmonics of a drone make sharp lines."""
    from scipy.ndimage import median_filter

    n, hop = 1024, 512
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    idx = np.arange(n)[None, :] + hop * np.arange(1 + (x.size - n) // hop)[:, None]
    power = np.abs(np.fft.rfft(x[idx] * np.hanning(n), axis=1)) ** 2
    band = 10.0 * np.log10(power.mean(axis=0) + 1e-10)[6:256]
    prom = band - median_filter(band, 15)
    top = np.sort(prom)[-5:]
    return np.array(
        [prom.max(), top.mean(), float((prom > 6).sum()), float((prom > 10).sum())],
        dtype=np.float32,
    )


HARM_N = 4096  # 3.9 Hz bins at SAMPLE_RATE: resolves a rotor's 60-100 Hz fundamental
HARM_LO_HZ, HARM_HI_HZ, F0_MAX_HZ, N_HARMONICS = 60.0, 4000.0, 400.0, 8


def harmonic_lines(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Blade-pass lines at fine frequency resolution (4096-sample frames, half overlapping).

    ``tonal_peaks`` sees 15.6 Hz bins, too coarse to separate a helicopter's main-rotor and
    tail-rotor harmonics (fundamentals of about 60-100 Hz) from a drone's (130-360 Hz at
    these clips), and it cannot tell a line that lasts the whole second from a passing one.
    Returned: the strongest line's prominence above a 31-bin running median (dB), the mean
    of the five strongest, how many bins stand 6 and 10 dB out; the best harmonic comb (mean
    prominence at the first ``N_HARMONICS`` multiples of a fundamental between 60 and 400 Hz,
    one bin of slack) and the log of its fundamental (0 when there is no line at all); and
    the share of the 6-dB lines that stand 3 dB out in every frame (steadiness).
    Chosen by grouped cross-validation on the training clips (docs/vision.md, audio)."""
    from scipy.ndimage import maximum_filter1d, median_filter

    n, hop = HARM_N, HARM_N // 2
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    idx = np.arange(n)[None, :] + hop * np.arange(1 + (x.size - n) // hop)[:, None]
    power = np.abs(np.fft.rfft(x[idx] * np.hanning(n), axis=1)) ** 2
    df = SAMPLE_RATE / n
    lo, hi = int(HARM_LO_HZ / df), int(HARM_HI_HZ / df)
    spec = 10.0 * np.log10(power.mean(axis=0) + 1e-12)
    prom = (spec - median_filter(spec, 31))[lo:hi]
    top = np.sort(prom)[-5:]
    slack = maximum_filter1d(np.clip(prom, 0.0, None), 3, mode="nearest")
    f0_bins = np.arange(lo, int(F0_MAX_HZ / df))
    comb = slack[np.arange(1, N_HARMONICS + 1)[None, :] * f0_bins[:, None] - lo].mean(axis=1)
    k = int(np.argmax(comb))
    best = float(comb[k])
    log_f0 = float(np.log(f0_bins[k] * df + 1.0)) if best > 0.0 else 0.0
    frames = 10.0 * np.log10(power + 1e-12)
    frame_prom = (frames - median_filter(frames, size=(1, 31)))[:, lo:hi]
    strong = prom > 6.0
    steady = float((frame_prom[:, strong] > 3.0).all(axis=0).mean()) if strong.any() else 0.0
    return np.array(
        [
            prom.max(),
            top.mean(),
            float((prom > 6).sum()),
            float((prom > 10).sum()),
            best,
            log_f0,
            steady,
        ],
        dtype=np.float32,
    )


def windows(
    audio: Audio, length_s: float = 1.0, hop_s: float | None = None
) -> list[tuple[float, NDArray[np.float32]]]:
    """(start time, mono samples) of windows ``hop_s`` apart (default: back to back); a last
    partial window over half a window long is kept."""
    mono = audio.mono
    size = round(length_s * audio.rate)
    step = round((hop_s or length_s) * audio.rate)
    out: list[tuple[float, NDArray[np.float32]]] = []
    for start in range(0, mono.size, step):
        seg = mono[start : start + size]
        if start > 0 and seg.size < size and hop_s is not None:
            break
        if seg.size < size // 2:
            break
        out.append((start / audio.rate, seg))
    return out
