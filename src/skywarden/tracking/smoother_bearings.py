"""Which bearings belong to which retrospective record: a record's own link, another emitter's.

A direction finder reports bearings, not positions: a bearing on a track's line is that track's
only if nothing else explains it. The investigation (``runtime.investigate.rerun``) asks four
questions of a smoothed record (``tracking.smoother.Smoothed``), answered here:

* :func:`lone_plots` — radar plots that are clutter on a bearing line (one plot amid bearings);
* :func:`heard` / :func:`emitter` — is the record's control link heard, and so loudly that its
  bearings are its own and no other track's;
* :func:`explained_bearings` — the bearings an emitter's path explains (others must not have them);
* :func:`more_bearings` — bearings the live association gave elsewhere that fit the record's path.

Pure: detections in, sets and lists of detections out; no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.tracking.smoother import Smoothed, SmootherConfig, detection_d2, gate_d2


def lone_plots(dets: Sequence[Detection], cfg: SmootherConfig | None = None) -> set[int]:
    """``id()`` of the radar plots that place a track otherwise placed by bearings: no other
    plot of the same sensor on the track within ``lone_s``, bearings within it. A radar that
    saw the object once sees it again within a few scans (ten scans missed at Pd 0.5 is one
    in a thousand); one plot alone amid bearings is clutter on the bearing line that the live
    association took, and it fixes the range kilometres off (the range a single direction
    finder leaves open). Cooperative reports (an identity) are never clutter."""
    cfg = cfg or SmootherConfig()
    bearing_t = np.array(sorted(d.t for d in dets if not d.kind.fixes_position))
    by_sensor: dict[str, list[Detection]] = {}
    for d in dets:
        if d.kind.fixes_position and d.kind is not MeasurementKind.POSITION_ID:
            by_sensor.setdefault(d.sensor_id, []).append(d)
    out: set[int] = set()
    for plots in by_sensor.values():
        plots.sort(key=lambda d: d.t)
        ts = [d.t for d in plots]
        for k, d in enumerate(plots):
            near = (k > 0 and d.t - ts[k - 1] <= cfg.lone_s) or (
                k + 1 < len(ts) and ts[k + 1] - d.t <= cfg.lone_s
            )
            lo, hi = np.searchsorted(bearing_t, [d.t - cfg.lone_s, d.t + cfg.lone_s])
            if not near and hi > lo:
                out.add(id(d))
    return out


def heard(sm: Smoothed, cfg: SmootherConfig | None = None, share: float | None = None) -> bool:
    """The track's control link was heard: bearings at ``heard_share`` (or ``share``) per
    second of its life (a few stray ones are another emitter's, given to it by the live
    association)."""
    cfg = cfg or SmootherConfig()
    n = sum(1 for d in sm.used if not d.kind.fixes_position)
    rate = cfg.heard_share if share is None else share
    return n >= max(5.0, rate * (float(sm.t[-1]) - float(sm.t[0])))


def emitter(sm: Smoothed, cfg: SmootherConfig | None = None) -> bool:
    """The track is an emitter whose bearings others must not have (``explained_bearings``):
    heard at ``emitter_share`` per second of its life, not at ``heard_share``. A direction
    finder reporting every second at Pd 0.9 hears a live link about 0.9 times a second, two
    finders 1.8; a silent drone on another emitter's bearing line is given that emitter's
    bearings only while the line crosses it. Night-launch seed 35: the radar-tracked H0
    (silent) held 30 of rf-east's bearings of H2 (in 147 s, 0.2 per second: "heard"), and
    claiming them took from H2's record the cross fixes its extension back needed, so the
    record began 72 s after H2's take-off, 1.3 km off."""
    cfg = cfg or SmootherConfig()
    return heard(sm, cfg, cfg.emitter_share)


def explained_bearings(
    sm: Smoothed,
    scans: Sequence[tuple[float, Sequence[Detection]]],
    cfg: SmootherConfig | None = None,
) -> set[int]:
    """``id()`` of the bearing-only reports that the track's smoothed path explains (inside
    the back gate) where plots fix its position (within ``fix_window_s`` of one). For a track
    whose own link is heard (a known emitter: the site's own drone, say) these bearings are
    its; given to another track they make a false crossing with that track's real ones,
    kilometres off (the own drone's bearing from one direction finder with the intruder's
    from the other), and the live association does give them away."""
    cfg = cfg or SmootherConfig()
    t0, t1 = float(sm.t[0]), float(sm.t[-1])
    fixes = np.array(sorted(d.t for d in sm.used if d.kind.fixes_position))
    out: set[int] = set()
    for t, dets in scans:
        if not (t0 <= t <= t1) or not dets or dets[0].kind.fixes_position:
            continue
        k = int(np.searchsorted(fixes, t))
        near = [abs(fixes[j] - t) for j in (k - 1, k) if 0 <= j < len(fixes)]
        if not near or min(near) > cfg.fix_window_s:
            continue  # where only bearings place it, its path explains nothing for certain
        x, P = sm.state_at(t)
        # one emitter, one bearing per report: the nearest inside the gate (another emitter
        # on nearly the same bearing keeps its own)
        d2, det = min(((detection_d2(x, P, d), d) for d in dets), key=lambda c: c[0])
        if d2 <= gate_d2(det, cfg.p_gate_back):
            out.add(id(det))
    return out


def more_bearings(
    sm: Smoothed,
    scans: Sequence[tuple[float, Sequence[Detection]]],
    cfg: SmootherConfig | None = None,
    taken: set[int] | None = None,
) -> list[Detection]:
    """Bearings within the track's span that the live association gave elsewhere (or to no
    one) and that fit its smoothed path: a control link heard by a second direction finder
    fixes the range a single one leaves open. One per report, the best within the gate; none
    from a sensor at a time the track already has one from it, none in ``taken`` (another
    emitter's: ``explained_bearings``)."""
    cfg = cfg or SmootherConfig()
    have = {(d.sensor_id, round(d.t, 6)) for d in sm.used}
    fixes = np.array(sorted(d.t for d in sm.used if d.kind.fixes_position))
    t0, t1 = float(sm.t[0]), float(sm.t[-1])
    if not heard(sm, cfg):
        return []  # not heard on RF: stray bearings would only pull it off its plots
    out: list[Detection] = []
    for t, dets in scans:
        if not (t0 <= t <= t1) or not dets or dets[0].kind.fixes_position:
            continue
        if (dets[0].sensor_id, round(t, 6)) in have:
            continue
        k = int(np.searchsorted(fixes, t))
        near = [abs(fixes[j] - t) for j in (k - 1, k) if 0 <= j < len(fixes)]
        if near and min(near) <= cfg.fix_window_s:
            continue  # plots fix it here: bearings are only wanted where they are all there is
        x, P = sm.state_at(t)
        best: tuple[float, Detection] | None = None
        for det in dets:
            if taken and id(det) in taken:
                continue
            d2 = detection_d2(x, P, det)
            if d2 <= gate_d2(det, cfg.p_gate_back) and (best is None or d2 < best[0]):
                best = (d2, det)
        if best is not None:
            out.append(best[1])
    return out
