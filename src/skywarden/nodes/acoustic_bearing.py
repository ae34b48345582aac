"""Direction of arrival for a microphone array: SRP-PHAT over a grid of azimuths.

For every microphone pair the cross-power spectrum is whitened (PHAT: each frequency bin
divided by its magnitude, so every band votes equally and reverberant low-frequency energy
does not dominate), and the steered response power of a far-field plane wave from azimuth
``az`` is the sum over pairs of the whitened cross-correlation at the pair's expected delay
``tau = (p_j - p_i) . u(az) / c``. The azimuth of the largest response wins; its sharpness
against the mean gives a confidence.

Geometry: microphone positions in metres, (east, north) in the node's frame, north-aligned;
azimuth is clockwise from north like every other bearing in skywarden. A planar array gives
azimuth only (elevation is not resolved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SPEED_OF_SOUND = 343.0
F_LO, F_HI = 200.0, 4000.0


@dataclass(frozen=True)
class Bearing:
    azimuth_rad: float
    sigma_rad: float
    peak_ratio: float  # max / mean steered power: about 1 for diffuse noise


def srp_phat(
    x: NDArray[np.float32],
    rate: int,
    mics_en: NDArray[np.float64],
    n_az: int = 360,
) -> Bearing:
    """Azimuth of the dominant far-field source in ``x`` of shape (samples, channels)."""
    if x.ndim != 2 or x.shape[1] != mics_en.shape[0] or x.shape[1] < 2:
        raise ValueError(f"{x.shape} samples for {mics_en.shape[0]} microphones")
    n = 1 << math.ceil(math.log2(max(x.shape[0], 2)))
    spec = np.fft.rfft(x - x.mean(axis=0), n=n, axis=0)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    band = (freqs >= F_LO) & (freqs <= F_HI)
    f, s = freqs[band], spec[band]
    az = np.linspace(0.0, 2 * math.pi, n_az, endpoint=False)
    u = np.stack([np.sin(az), np.cos(az)], axis=1)  # unit vectors (E, N) towards the source
    power = np.zeros(n_az)
    m = mics_en.shape[0]
    for i in range(m):
        for j in range(i + 1, m):
            cross = s[:, i] * np.conj(s[:, j])
            cross /= np.abs(cross) + 1e-12
            # A wave from u reaches mic p earlier by p . u / c: x_i(t) = s(t + p_i.u/c).
            tau = (mics_en[i] - mics_en[j]) @ u.T / SPEED_OF_SOUND  # (n_az,)
            steer = np.exp(-2j * math.pi * np.outer(f, tau))  # (bins, n_az)
            power += np.real(cross @ steer)
    k = int(np.argmax(power))
    shifted = power - power.min()
    ratio = float(shifted[k] / (shifted.mean() + 1e-12))
    half = shifted >= shifted[k] / 2
    width = int(half.sum())
    sigma = max(2 * math.pi / n_az, width * (2 * math.pi / n_az) / 2.355)
    return Bearing(float(az[k]), sigma, ratio)
