"""The incident report's figures (matplotlib's object API: no pyplot state, no display): the
map (tracks by class, zones, sensors, launch regions, impact areas), reports per sensor over
time, sensor message rates, and track kinematics; clock-time (UTC) axes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon
from matplotlib.patches import Ellipse as EllipsePatch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from skywarden.core.site import Site
from skywarden.store.export import TrackPath
from skywarden.store.report_data import ABSOLUTE_T, ImpactArea, LaunchEstimate, ReportData

CLASS_COLOURS = {
    "drone": "#d62728",
    "drone_fixed_wing": "#ff7f0e",
    "bird": "#2ca02c",
    "aircraft": "#1f77b4",
    "unknown": "#7f7f7f",
}
MAX_KINEMATICS_TRACKS = 12
MAX_ELLIPSE_DRAWN_M = 1000.0


def _colour(cls: str) -> str:
    return CLASS_COLOURS.get(cls, CLASS_COLOURS["unknown"])


A4_LANDSCAPE = (11.69, 8.27)


def tick_text(v: float) -> str:
    if v < ABSOLUTE_T:
        return f"{v:.0f}"
    return datetime.fromtimestamp(v, tz=UTC).strftime("%H:%M:%S")


_CLOCK = FuncFormatter(lambda v, _pos: tick_text(v))


def _clock_axis(ax: Axes, ticks: int = 6) -> None:
    """Clock time (UTC, whole seconds) on the x axis instead of UNIX seconds with an offset;
    at most ``ticks`` labels, so they never run into each other."""
    ax.xaxis.set_major_locator(MaxNLocator(ticks, min_n_ticks=2))
    ax.xaxis.set_major_formatter(_CLOCK)


def _sensor_labels(site: Site) -> list[tuple[float, float, str]]:
    """One label per sensor position: co-located sensors share it (no overlapping text)."""
    at: dict[tuple[int, int], list[str]] = {}
    for s in site.sensors:
        at.setdefault((round(s.position_enu[0] / 25), round(s.position_enu[1] / 25)), []).append(
            s.id
        )
    out = []
    for (e, n), ids in at.items():
        out.append((e * 25.0, n * 25.0, "\n".join(ids)))
    return out


def _ellipse(ax: Axes, x: LaunchEstimate | ImpactArea, **style: Any) -> None:
    """The 95 % ellipse of a launch region or impact area; none wider than
    ``MAX_ELLIPSE_DRAWN_M`` (wider says only "somewhere there") or without a size."""
    if 0 < x.semi_major_m <= MAX_ELLIPSE_DRAWN_M:
        ax.add_patch(
            EllipsePatch(
                (x.e, x.n),
                2 * x.semi_minor_m,
                2 * x.semi_major_m,
                angle=-x.orientation_deg,
                **style,
            )
        )


def map_figure(d: ReportData) -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE)
    ax = fig.add_subplot()
    if d.site is not None:
        for z in d.site.zones:
            c = "#d62728" if z.kind.value == "protected" else "#ffbf00"
            if z.center_enu is not None and z.radius_m is not None:
                ax.add_patch(Circle(z.center_enu, z.radius_m, fc=c, ec=c, alpha=0.15))
            elif z.polygon_enu is not None:
                ax.add_patch(Polygon(list(z.polygon_enu), closed=True, fc=c, ec=c, alpha=0.15))
            cx, cy = z.centroid
            ax.annotate(z.id, (cx, cy), color=c, ha="center", fontsize=8)
        for s in d.site.sensors:
            ax.plot(s.position_enu[0], s.position_enu[1], "k^", ms=7)
        for k, (e0, n0, text) in enumerate(_sensor_labels(d.site)):
            ax.annotate(
                text,
                (e0, n0),
                fontsize=7,
                xytext=(6, -8 - 6 * (k % 3)),
                textcoords="offset points",
                va="top",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.7},
            )
    seen: set[str] = set()
    for p in d.tracks:
        cls = p.best_class
        e = [s.x[0] for s in p.states]
        n = [s.x[1] for s in p.states]
        label = cls if cls not in seen else None
        seen.add(cls)
        ls = "-" if p.confirmed else ":"
        ax.plot(e, n, ls, color=_colour(cls), lw=1.6, label=label)
        ax.plot(e[-1], n[-1], "o", color=_colour(cls), ms=4)
        ax.annotate(
            p.track_id, (e[-1], n[-1]), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    for lp in d.launches:
        ax.plot(lp.e, lp.n, "x", color="black", ms=8)
        _ellipse(ax, lp, fill=False, ec="black", ls="--", lw=0.8)
        ax.annotate(
            f"launch {lp.track_id}",
            (lp.e, lp.n),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    for a in d.impacts:
        ax.plot(a.e, a.n, "+", color="#9467bd", ms=10, mew=2)
        _ellipse(ax, a, fc="#9467bd", ec="#9467bd", alpha=0.25)
        ax.annotate(
            f"{a.kind} {a.track_id}", (a.e, a.n), fontsize=7, xytext=(4, -10),
            textcoords="offset points", color="#9467bd",
        )  # fmt: skip
    if d.launches:
        ax.plot([], [], "x", color="black", label="launch region (95 %)")
    if d.impacts:
        ax.plot([], [], "+", color="#9467bd", mew=2, label="impact / debris area (95 %)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.set_title("Tracks by class (suspect drones red), zones, sensors, launch and impact areas")
    ax.grid(alpha=0.3)
    if seen or d.launches or d.impacts:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def timeline_figure(d: ReportData) -> Figure:
    rows = max(1, len(d.health))
    fig = Figure(figsize=A4_LANDSCAPE)
    ax = fig.add_subplot()
    for i, h in enumerate(d.health):
        ax.plot(h.times, [i] * len(h.times), "|", ms=10, color="#1f77b4")
    ax.set_yticks(range(len(d.health)), [h.sensor_id for h in d.health])
    for a in d.alerts:
        ax.axvline(a.t, color="#d62728", lw=1, alpha=0.8)
    for act in d.actions:
        if act.action.startswith("ack"):
            ax.axvline(act.t, color="#2ca02c", lw=1, ls="--", alpha=0.8)
    ax.set_xlim(d.t_from, d.t_to)
    ax.set_ylim(-0.8, rows - 0.2)
    _clock_axis(ax)
    ax.set_xlabel("UTC  -  red: alert transitions, green dashed: acknowledgements")
    ax.set_title("Reports per sensor over the window")
    fig.tight_layout()
    return fig


def kinematics_figure(paths: Sequence[TrackPath]) -> Figure:
    """Speed and altitude of up to four tracks, one row each, on one A4 landscape page."""
    fig = Figure(figsize=A4_LANDSCAPE)
    rows = max(1, len(paths))
    axes = fig.subplots(rows, 2, squeeze=False)
    for (a1, a2), p in zip(axes, paths, strict=False):
        t = [s.t for s in p.states]
        c = _colour(p.best_class)
        a1.plot(t, [s.speed for s in p.states], color=c)
        a1.set_ylabel("speed (m/s)")
        a2.plot(t, [s.x[2] for s in p.states], color=c)
        a2.set_ylabel("altitude (m)")
        a1.set_title(
            f"track {p.track_id}: {p.best_class}, {p.identity or 'no identity'}",
            loc="left",
            fontsize=9,
        )
        for ax in (a1, a2):
            _clock_axis(ax, 4)
            ax.grid(alpha=0.3)
    fig.suptitle("Track kinematics (UTC)")
    fig.tight_layout()
    return fig


def health_figure(d: ReportData) -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE)
    ax = fig.add_subplot()
    span = max(d.t_to - d.t_from, 1e-9)
    nbins = max(1, min(60, int(span)))
    width = span / nbins
    for h in d.health:
        counts = [0] * nbins
        for t in h.times:
            counts[min(nbins - 1, int((t - d.t_from) / width))] += 1
        mids = [d.t_from + (i + 0.5) * width for i in range(nbins)]
        ax.step(mids, [c / width for c in counts], where="mid", label=f"{h.sensor_id} ({h.status})")
    _clock_axis(ax)
    ax.set_xlabel("UTC")
    ax.set_ylabel("messages / s")
    ax.set_title("Sensor message rate during the window")
    ax.grid(alpha=0.3)
    if d.health:
        ax.legend(fontsize=7, ncols=2)
    fig.tight_layout()
    return fig


def figures(d: ReportData) -> list[tuple[str, Figure]]:
    out = [
        ("Map", map_figure(d)),
        ("Timeline", timeline_figure(d)),
        ("Sensor health", health_figure(d)),
    ]
    # suspect drones first (d.tracks is in report order), then the longest of the others
    first = d.suspects
    rest = sorted(
        (p for p in d.tracks if p not in first), key=lambda p: (-len(p.states), p.track_id)
    )
    chosen = (first + rest)[:MAX_KINEMATICS_TRACKS]
    for i in range(0, len(chosen), 4):
        group = chosen[i : i + 4]
        out.append((f"Kinematics {', '.join(p.track_id for p in group)}", kinematics_figure(group)))
    return out


# ----------------------------------------------------------------------------- tables
