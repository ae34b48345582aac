"""Score-based track management: tentative -> confirmed -> coasting -> deleted.

Each track carries its log-likelihood ratio ``L`` (Blackman & Popoli 1999, §6.2: the
sequential probability ratio test of "a target" against "clutter"). Per
detection that updates it, ``dL = ln Pd + ln N(y; 0, S) - ln lambda_FA``; per scan of a sensor
that should have seen it and did not, ``dL = ln(1 - Pd)``. Wald's SPRT gives the thresholds:
confirm when ``L >= ln((1 - beta)/alpha)``, drop a tentative track when ``L <= ln(beta/(1 -
alpha))`` (alpha: probability of confirming a false track, beta: of dropping a true one).

A confirmed track is deleted when its score falls more than ``delete_drop`` below the best it
reached, or (a young track, never far above the confirmation score) ``young_drop`` below the
confirmation score (a run of misses that a real target at this Pd would rarely produce), or when no
sensor has updated it for ``max_coast_s`` (``young_max_coast_s`` for a young track: one that
leaves every sensor's coverage right after confirmation collects no misses, so without this
it would coast on two plots' worth of evidence for the full established-track time). A young
track's coast limit is scaled to its own update rate (``young_coast_limit``): a target seen in
one scan of two or three (a small drone near the radar's range) goes 4-6 s between plots, and a
fixed 3 s deleted it between them. The running maximum is capped so a track that was seen for
an hour still dies within a few scans of its target vanishing.

Statuses are integer codes in the bank (``bank.TENTATIVE`` ...); the transitions applied here are
exactly those :class:`core.track.TrackStatus` allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.tracking.bank import COASTING, CONFIRMED, TENTATIVE

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ManagementConfig:
    """SPRT error rates and the coast and drop rules of the track lifecycle."""

    alpha: float = 1e-2  # P(confirm a false track) per the SPRT
    beta: float = 0.05  # P(drop a true track)
    delete_drop: float = 10.0
    young_drop: float = 3.0  # a track never far above the confirm score dies below it - this
    score_cap: float = 30.0
    max_coast_s: float = 8.0
    young_max_coast_s: float = 3.0
    tentative_max_gap_s: float = 2.5

    @property
    def confirm_score(self) -> float:
        return math.log((1.0 - self.beta) / self.alpha)

    @property
    def drop_tentative_score(self) -> float:
        return math.log(self.beta / (1.0 - self.alpha))


def young_coast_limit(
    t_first: F64, t_update: F64, hits: NDArray[np.int64], cfg: ManagementConfig
) -> F64:
    """Each track's coast limit if it is young: the gap a true target would exceed with
    probability ``beta`` at the update rate the track has shown, never under
    ``young_max_coast_s`` nor over ``max_coast_s``.

    Why: the SPRT's ``beta`` is the chance of dropping a true track we accept. Updates
    arriving at the track's mean rate ``1/tau`` (``tau = (t_update - t_first)/(hits - 1)``)
    leave a gap longer than ``g`` with probability ``exp(-g/tau)`` (the Poisson approximation
    of a Bernoulli scan-by-scan detection), so ``g = tau ln(1/beta)``. At one update a
    second this is 3.0 s, the fixed limit it generalises; a track of one update keeps it.
    M-of-N confirmation in another form: the track is held to the plot rate it was confirmed
    on, not to a rate a strong target would show.
    """
    n = hits.astype(np.float64)
    tau = (t_update - t_first) / np.maximum(n - 1.0, 1.0)  # tau = (t_upd - t_first)/(n - 1)
    g = tau * math.log(1.0 / cfg.beta)  # P(gap > g) = exp(-g/tau) = beta
    g = np.where(n >= 2.0, g, cfg.young_max_coast_s)
    out: F64 = np.clip(g, cfg.young_max_coast_s, cfg.max_coast_s)
    return out


def manage(
    status: NDArray[np.int64],
    score: F64,
    score_max: F64,
    t_update: F64,
    updated: NDArray[np.bool_],
    missed: NDArray[np.bool_],
    t: float,
    cfg: ManagementConfig,
    score0: F64 | None = None,
    young_limit: F64 | None = None,
) -> NDArray[np.bool_]:
    """Apply one step of lifecycle rules in place; return the mask of rows to keep.

    ``updated``: rows a detection updated in this step; ``missed``: rows a sensor should have
    detected in this step and did not. ``score0``: each track's initial score; a tentative
    track is dropped when the evidence gathered since (``score - score0``) reaches the lower
    SPRT threshold, so a track whose prior already favours clutter (a birth in dense clutter)
    still gets its chance to prove itself. ``young_limit``: each track's coast limit while
    young (``young_coast_limit``); without it, ``young_max_coast_s`` for all.
    """
    np.minimum(score, cfg.score_cap, out=score)
    np.maximum(score_max, score, out=score_max)
    tent = status == TENTATIVE
    conf = (status == CONFIRMED) | (status == COASTING)
    gap = t - t_update

    promote = tent & (score >= cfg.confirm_score)
    evidence = score if score0 is None else score - score0
    drop_tent = (
        tent & ~promote & ((evidence <= cfg.drop_tentative_score) | (gap > cfg.tentative_max_gap_s))
    )
    floor = np.maximum(score_max - cfg.delete_drop, cfg.confirm_score - cfg.young_drop)
    young = score_max < cfg.confirm_score + cfg.young_drop
    young_gap = cfg.young_max_coast_s if young_limit is None else young_limit
    max_gap = np.where(young, young_gap, cfg.max_coast_s)
    drop_conf = conf & ((score < floor) | (gap > max_gap))

    status[promote] = CONFIRMED
    status[conf & updated] = CONFIRMED
    status[conf & missed & ~updated] = COASTING
    keep: NDArray[np.bool_] = ~(drop_tent | drop_conf)
    return keep
