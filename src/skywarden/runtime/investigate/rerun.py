"""``skywarden investigate``: re-run the recorded reports offline and rebuild every track's past.

Source: a skybench/1 scenario file (so the result can be scored) or a journal (its raw
inputs, in time order, from one fresh pipeline: restarts of the live process do not split
the retrospective picture). Steps:

1. the live engine runs over the whole window once, and every report and every
   detection-to-track assignment is kept (``_Tap``: it watches the engine's steps),
   including a track's tentative start;
2. every track that was ever confirmed is re-estimated from its own detections by the
   fixed-interval smoother (``tracking.smoother.smooth``);
3. broken tracks are re-linked: B continues A when A's smoothed end, carried forward, meets
   B's smoothed start (greedy on the Mahalanobis distance, each end used once);
4. each track is extended back over the stored plots with a lower gate
   (``tracking.smoother.extend_back``) to its earliest trace, and smoothed again;
5. launch region: the smoothed state at the earliest trace goes through the live estimator,
   ``threat.launch`` (one implementation: the report and the live picture agree on the
   method); drone tracks only, never birds or aircraft;
6. the retrospective ``tracks.jsonl`` (``output.py``): one snapshot per scan time, the
   smoothed states of the tracks that exist then (earliest trace to last detection), with
   ``launch_enu_m``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from skywarden.core.observation import Detection
from skywarden.core.site import Site
from skywarden.core.terrain import Terrain, ground_height
from skywarden.core.track import ObjectClass, TrackState, TrackStatus
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import Frame, PipelineConfig
from skywarden.sensors.skybench import Scan, SkybenchReader
from skywarden.threat.launch import LaunchConfig, LaunchPoint, LaunchPointEstimator
from skywarden.tracking.result import TrackerResult
from skywarden.tracking.smoother import (
    Smoothed,
    SmootherConfig,
    extend_back,
    joined,
    link_score,
    smooth,
)
from skywarden.tracking.smoother_bearings import (
    emitter,
    explained_bearings,
    heard,
    lone_plots,
    more_bearings,
)
from skywarden.tracking.tracker import Tracker

START_MARGIN_S = 3.0  # a track first seen this close to the window's start was already flying
LAUNCH_BACK_S = 20.0  # longest back-projection from the earliest trace to the ground
AIRBORNE_U_M = 40.0  # a take-off is seen within seconds, below this (threat.launch)
FIRM_MIN_FRAMES = 10  # a class held over fewer frames than this keeps no pieces apart
_FAMILY = {c.value: c.family for c in ObjectClass}


class _TapTracker(Tracker):
    """The live tracker, keeping every assignment it makes (track id -> detections)."""

    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, **k)
        self.assigned: dict[str, list[Detection]] = defaultdict(list)

    def process(self, *a: Any, **k: Any) -> TrackerResult:
        res = super().process(*a, **k)
        for tid, det, _ in res.assignments:
            self.assigned[tid].append(det)
        return res


@dataclass
class _Seen:
    """What the live run showed of one track id."""

    first_confirmed_t: float
    first_state: TrackState
    classes: Counter[str] = field(default_factory=Counter)
    identity: str | None = None
    sensors: set[str] = field(default_factory=set)


class _Tap:
    """Runs the live engine and keeps its inputs and what it showed (step 1)."""

    def __init__(
        self, site: Site, config: PipelineConfig | None, terrain: Terrain | None = None
    ) -> None:
        self.terrain = terrain
        self.engine = Engine(site, config, records=False, terrain=terrain)
        self.engine.on_step = self._stepped
        self.pipe = self.engine.pipeline
        self.pipe.tracker = _TapTracker(site.sensors, self.pipe.cfg.tracker)
        self.scans: list[tuple[float, str, list[Detection]]] = []
        self.seen: dict[str, _Seen] = {}
        self.alert_lines: list[dict[str, Any]] = []
        self.frame_times: list[float] = []

    @property
    def assigned(self) -> dict[str, list[Detection]]:
        tr = self.pipe.tracker
        assert isinstance(tr, _TapTracker)
        return tr.assigned

    def step(self, scans: Sequence[Scan], t: float) -> list[Frame]:
        """One scenario time's scans through the engine (a tick at ``t``)."""
        for s in scans:
            self.engine.scan(s)
        frames = self.engine.tick(t)
        self.engine.drain_events()  # kept as the frames' alert lines
        return frames

    def _stepped(self, scans: Sequence[Scan], fr: Frame) -> None:
        for s in scans:
            self.scans.append((s.t, s.sensor_id, list(s.detections)))
        self.observe(fr)

    def observe(self, fr: Frame) -> None:
        self.frame_times.append(fr.t)
        self.alert_lines.extend(fr.alert_lines)
        for tr in fr.tracks:
            s = self.seen.get(tr.id)
            if s is None:
                s = self.seen[tr.id] = _Seen(fr.t, tr)
            s.classes[_FAMILY.get(tr.best_class, "unknown")] += 1
            s.identity = tr.identity or s.identity
            s.sensors.update(tr.sensors)


@dataclass(frozen=True)
class RetroTrack:
    """One track as the investigation rebuilt it."""

    id: str
    merged_ids: tuple[str, ...]  # live track ids it joins (re-linked fragments)
    cls: str  # drone / bird / aircraft / unknown (majority of the live classification)
    identity: str | None
    smoothed: Smoothed
    live_first_confirmed_t: float
    extended_by: int  # plots found by extending it back
    launch: LaunchPoint | None
    in_flight_at_start: bool = False  # first trace at the window's start: no launch point

    @property
    def first_t(self) -> float:
        return float(self.smoothed.t[0])

    @property
    def last_t(self) -> float:
        return float(self.smoothed.t[-1])

    @property
    def sensors(self) -> tuple[str, ...]:
        return tuple(sorted({d.sensor_id for d in self.smoothed.used}))


@dataclass(frozen=True)
class Investigation:
    site: Site
    tracks: tuple[RetroTrack, ...]
    frame_times: tuple[float, ...]
    scans: tuple[tuple[float, str, tuple[Detection, ...]], ...]  # (t, sensor, detections)
    live_alerts: tuple[dict[str, Any], ...]


def _prior(first: TrackState, t0: float) -> tuple[np.ndarray, np.ndarray]:
    """Broad prior at the first detection: the first confirmed state carried back, with
    its own covariance carried back too (P = F P F', F the CV step over t0 - t) plus a
    fixed spread. A track confirmed on bearings has a range known to kilometres only: a
    fixed 300 m there made the guess outweigh the later plots and put the smoothed start
    kilometres off along the bearing."""
    x = np.asarray(first.x, dtype=float).copy()
    dt = t0 - first.t
    x[:3] += x[3:6] * dt
    F = np.eye(6)
    F[:3, 3:] = np.eye(3) * dt
    P = np.diag([300.0**2, 300.0**2, 150.0**2, 15.0**2, 15.0**2, 5.0**2])
    Pl = np.asarray(first.P, dtype=float)
    if Pl.shape == (6, 6) and np.all(np.isfinite(Pl)):
        P = P + F @ Pl @ F.T  # P0 = F P_live F' + P_spread
    return x, P


def _smooth_from(
    dets: Sequence[Detection],
    first: TrackState,
    cfg: SmootherConfig,
    guess: Smoothed | None = None,
) -> Smoothed:
    """``guess``: the record so far (or the joined pieces' records): the smoother starts
    linearised about it instead of from the live start state alone (``smoother.smooth``)."""
    lone = lone_plots(dets, cfg)  # clutter on the bearing line, not a range
    if lone and len(dets) - len(lone) >= 3:
        dets = [d for d in dets if id(d) not in lone]
    t0 = min(d.t for d in dets)
    x0, P0 = _prior(first, t0)
    # the smoother iterates: its bearings and far radar plots are linearised about the
    # smoothed path, not about this first guess
    return smooth(dets, x0, P0, cfg, guess)


def _compatible(a: _Seen, b: _Seen) -> bool:
    """Two pieces may be one object: the same cooperative identity (or none), and not two
    firmly different classes (a drone's dog-leg is often called a bird for a while, so a
    wavering class does not keep pieces apart; one held 90 % of the time over at least
    ``FIRM_MIN_FRAMES`` frames does: a piece of three plots is a guess, whatever it was
    called - a drone braking to a hover 2.4 km out broke its track there, and the three-plot
    piece after the break, called bird in its six frames, kept the rest of the drone from its
    take-off and claimed a take-off of its own in mid-air, 340 m off)."""
    if a.identity != b.identity:
        return False
    ca, cb = _firm_class(a), _firm_class(b)
    return ca is None or cb is None or ca == cb


def _firm_class(s: _Seen) -> str | None:
    if not s.classes:
        return None
    cls, n = s.classes.most_common(1)[0]
    total = sum(s.classes.values())
    if total < FIRM_MIN_FRAMES:
        return None
    return cls if n >= 0.9 * total and cls != "unknown" else None


def _relink(
    pieces: dict[str, tuple[Smoothed, list[Detection]]],
    seen: dict[str, _Seen],
    cfg: SmootherConfig,
) -> list[list[str]]:
    """Chains of live ids that are one object (step 3), earliest first."""
    ids = sorted(pieces, key=lambda i: float(pieces[i][0].t[0]))
    cands: list[tuple[float, str, str]] = []
    for a in ids:
        for b in ids:
            if a == b or not _compatible(seen[a], seen[b]):
                continue
            d2 = link_score(pieces[a][0], pieces[b][0], cfg)
            if d2 is not None:
                cands.append((d2, a, b))
    nxt: dict[str, str] = {}
    prv: dict[str, str] = {}
    for _, a, b in sorted(cands):
        if a in nxt or b in prv:
            continue
        # no cycles: b must not already lead back to a
        c: str | None = a
        while c is not None and c != b:
            c = prv.get(c)
        if c == b:
            continue
        nxt[a], prv[b] = b, a
    chains = []
    for i in ids:
        if i in prv:
            continue
        chain = [i]
        while chain[-1] in nxt:
            chain.append(nxt[chain[-1]])
        chains.append(chain)
    return chains


def investigate_run(
    tap: _Tap, site: Site, cfg: SmootherConfig | None = None, min_hits: int = 3
) -> Investigation:
    """Steps 2-5 over what ``tap`` kept."""
    cfg = cfg or SmootherConfig()
    scans = sorted(((t, sid, tuple(d)) for t, sid, d in tap.scans), key=lambda s: s[0])
    by_time = [(t, d) for t, _, d in scans]
    t_start = tap.frame_times[0] if tap.frame_times else -np.inf
    pieces: dict[str, tuple[Smoothed, list[Detection]]] = {}
    for tid, seen in tap.seen.items():
        dets = tap.assigned.get(tid, [])
        if len(dets) < min_hits:
            continue
        pieces[tid] = (_smooth_from(dets, seen.first_state, cfg), list(dets))
    chains = _relink(pieces, tap.seen, cfg)
    merged: list[tuple[list[str], Smoothed]] = []
    for chain in chains:
        if len(chain) == 1:
            merged.append((chain, pieces[chain[0]][0]))
            continue
        dets = [d for i in chain for d in pieces[i][1]]
        # started from the pieces' own records: from the first piece's start alone the
        # forward pass loses the object where it turned in the gap, and the iterations
        # linearise the later piece's polar plots about a path kilometres off (seed 28)
        guess = joined([pieces[i][0] for i in chain])
        merged.append((chain, _smooth_from(dets, tap.seen[chain[0]].first_state, cfg, guess)))
    # bearings an emitter (a track heard throughout, ``smoother_bearings.emitter``) explains where
    # plots fix it are its own: taken out of the other tracks (the live association gave
    # some away) and not offered
    emitters = {
        k: explained_bearings(sm, by_time, cfg)
        for k, (_, sm) in enumerate(merged)
        if emitter(sm, cfg)
    }
    for k, (chain, sm) in enumerate(merged):
        others = set().union(*(e for j, e in emitters.items() if j != k))
        keep = [d for d in sm.used if d.kind.fixes_position or id(d) not in others]
        if others and 3 <= len(keep) < len(sm.used):
            merged[k] = (chain, _smooth_from(keep, tap.seen[chain[0]].first_state, cfg, sm))
    out: list[RetroTrack] = []
    for k, (chain, sm) in enumerate(merged):
        # plots another track rests on are not offered; bearings are: a bearing line passes
        # by many objects (a bird on it takes a drone's control-link bearing in the live run)
        taken = {
            id(d)
            for j, (_, o) in enumerate(merged)
            if j != k
            for d in o.used
            if d.kind.fixes_position
        }
        taken.update(*(e for j, e in emitters.items() if j != k))
        votes: Counter[str] = Counter()
        ident = None
        for i in chain:
            votes.update(tap.seen[i].classes)
            ident = ident or tap.seen[i].identity
        cls = votes.most_common(1)[0][0] if votes else "unknown"
        first = tap.seen[chain[0]].first_state
        if cls == "drone":  # a drone's control link: bearings the live association missed
            for _ in range(2):
                add = more_bearings(sm, by_time, cfg, taken)
                if not add:
                    break
                sm = _smooth_from([*sm.used, *add], first, cfg, sm)
        extra = extend_back(
            sm.X[0], sm.P[0], float(sm.t[0]), by_time, taken, cfg, bearings=heard(sm, cfg)
        )
        if extra:
            sm = _smooth_from([*extra, *sm.used], first, cfg, sm)
        at_start = float(sm.t[0]) - t_start < START_MARGIN_S
        out.append(
            RetroTrack(
                id=chain[0],
                merged_ids=tuple(chain),
                cls=cls,
                identity=ident,
                smoothed=sm,
                live_first_confirmed_t=min(tap.seen[i].first_confirmed_t for i in chain),
                extended_by=len(extra),
                launch=(
                    _launch(site, chain[0], sm, cls, ident, tap.terrain)
                    if cls == "drone" and not at_start and not _begins_aloft(sm, tap.terrain)
                    else None
                ),
                in_flight_at_start=at_start,
            )
        )
    out.sort(key=lambda r: r.first_t)
    return Investigation(
        site, tuple(out), tuple(tap.frame_times), tuple(scans), tuple(tap.alert_lines)
    )


def _begins_aloft(sm: Smoothed, terrain: Terrain | None) -> bool:
    """The earliest trace is a plot well above the ground (by two sigma of its smoothed
    height more than ``AIRBORNE_U_M``): the record of the object begins in mid-air, inside
    a sensor's cover - a piece the re-linking could not join, not a take-off. (A trace that
    begins on bearings alone has no measured height: the link heard from take-off.)"""
    first = min(sm.used, key=lambda d: d.t)
    if not first.kind.fixes_position:
        return False
    x, P = sm.X[0], sm.P[0]
    ground = 0.0 if terrain is None else float(terrain(x[:1], x[1:2])[0])
    return float(x[2]) - ground - 2.0 * float(np.sqrt(max(P[2, 2], 0.0))) > AIRBORNE_U_M


def _launch(
    site: Site,
    tid: str,
    sm: Smoothed,
    cls: str,
    identity: str | None,
    terrain: Terrain | None = None,
) -> LaunchPoint | None:
    """Step 5: the smoothed earliest state through ``threat.launch``."""
    # The retrospective track already reaches back to its earliest trace (plots searched
    # with a low gate): the object was not in coverage before, so the live estimator's
    # "flew in from the coverage edge" does not apply. It runs without the radars' coverage,
    # and then (threat.launch as it stands: with no radar its coverage-edge time is 0 and
    # wins) its estimate is the earliest trace itself, method first_seen, with the smoothed
    # covariance as its ellipse.
    radars = tuple(s for s in site.sensors if not s.measures.fixes_position)
    est = LaunchPointEstimator(
        replace(site, sensors=radars), LaunchConfig(max_back_s=LAUNCH_BACK_S), terrain
    )
    t0 = float(sm.t[0])
    st = TrackState(
        id=tid,
        t=t0,
        x=sm.X[0].copy(),
        P=sm.P[0].copy(),
        status=TrackStatus.CONFIRMED,
        identity=identity,
        class_probs={cls: 1.0},
        first_t=t0,
    )
    est.observe_tracks([st])
    est.observe_assignments([(tid, d, 1) for d in sm.used])
    return est.estimate(tid)


# ---------------------------------------------------------------------- sources


def tap_scenario(
    path: str | Path,
    from_t: float | None = None,
    to_t: float | None = None,
    config: PipelineConfig | None = None,
    dem: Sequence[str] = (),
) -> _Tap:
    from skywarden.runtime.offline.bench_io import scans_by_time

    lo = -np.inf if from_t is None else from_t
    hi = np.inf if to_t is None else to_t
    reader = SkybenchReader.open(path)
    try:
        terrain = ground_height(dem, reader.site.origin) if dem else None
        tap = _Tap(reader.site, config, terrain)
        for t, scans in scans_by_time(reader):
            if lo <= t <= hi:
                tap.step(scans, t)
    finally:
        reader.close()
    return tap


def tap_journal(
    url: str,
    from_t: float | None,
    to_t: float | None,
    site: Site | None = None,
    config: PipelineConfig | None = None,
    terrain: Terrain | None = None,
) -> tuple[_Tap, Site]:
    """The journal's raw inputs and ticks, in order, through one fresh engine."""
    from skywarden.runtime.offline.replay import journal_site
    from skywarden.store.journal import open_journal

    j = open_journal(url)
    try:
        site = site or journal_site(j)
        tap = _Tap(site, config, terrain)
        for e in j.read(from_t, to_t, kinds=("raw", "tick")):
            tap.engine.feed(e.record)  # the steps reach the tap through ``on_step``
            tap.engine.drain_events()
    finally:
        j.close()
    return tap, site


def investigate_source(
    source: str,
    from_t: float | None = None,
    to_t: float | None = None,
    site: Site | None = None,
    cfg: SmootherConfig | None = None,
    dem: Sequence[str] = (),
) -> Investigation:
    """A scenario file (``.jsonl``) or a journal URL/path -> :class:`Investigation`; ``dem``:
    DEM files (``core.terrain``) for the ground under launch points and impacts."""
    if source.endswith(".jsonl"):
        tap = tap_scenario(source, from_t, to_t, dem=dem)
        return investigate_run(tap, tap.pipe.site, cfg)
    if dem and site is None:
        from skywarden.runtime.offline.replay import journal_site
        from skywarden.store.journal import open_journal

        j = open_journal(source)
        try:
            site = journal_site(j)
        finally:
            j.close()
    terrain = ground_height(dem, site.origin) if dem and site is not None else None
    tap, s = tap_journal(source, from_t, to_t, site, terrain=terrain)
    return investigate_run(tap, s, cfg)
