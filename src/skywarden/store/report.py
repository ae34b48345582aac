"""Incident report over a time window: self-contained HTML (images inline) and PDF.

What an investigator asks first, in order: the map of what flew where (tracks coloured by
class, zones, sensors, launch-point estimates), the alerts raised and who acknowledged
them, the timeline of detections per sensor, each track's speed and altitude, and whether
every sensor was healthy during the window. Everything comes from journal records (the
report reads nothing else but the optional site description) and is drawn with matplotlib's
object API (no pyplot state, no display, no internet): PNGs base64-embedded in the HTML,
``PdfPages`` for the PDF.

Suspect drones come first (``store.report_tracks``: one track per id across restarts, the
order, the timeline). Launch regions are those of ``threat.launch``, the live implementation,
so the report says what the operator was shown; drones only. Times are clock times (UTC).
When the journal holds an investigation of the window (``skywarden investigate``), its
findings are added: earliest trace, retrospective launch region, what each sensor missed.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon
from matplotlib.patches import Ellipse as EllipsePatch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from skywarden.core.site import Site
from skywarden.store.export import TrackPath, track_paths
from skywarden.store.journal import Journal
from skywarden.store.records import (
    AlertRecord,
    ConfigChange,
    InvestigationRecord,
    OperatorAction,
    RawMessage,
    Record,
    detections_of,
)
from skywarden.store.report_tracks import (
    Event,
    group_of,
    launch_points,
    merge_runs,
    ordered,
    timeline,
)

CLASS_COLOURS = {
    "drone": "#d62728",
    "drone_fixed_wing": "#ff7f0e",
    "bird": "#2ca02c",
    "aircraft": "#1f77b4",
    "unknown": "#7f7f7f",
}
MAX_KINEMATICS_TRACKS = 12
MAX_ELLIPSE_DRAWN_M = 1000.0


@dataclass(frozen=True)
class SensorHealth:
    sensor_id: str
    messages: int
    detections: int
    first_t: float | None
    last_t: float | None
    max_gap_s: float
    expected_interval_s: float | None
    times: tuple[float, ...] = ()

    @property
    def status(self) -> str:
        if self.messages == 0:
            return "SILENT"
        if self.expected_interval_s and self.max_gap_s > 3.0 * self.expected_interval_s:
            return "GAPS"
        return "OK"


@dataclass(frozen=True)
class LaunchEstimate:
    track_id: str
    e: float
    n: float
    method: str
    semi_major_m: float = 0.0
    semi_minor_m: float = 0.0
    orientation_deg: float = 0.0  # of the major axis, clockwise from north


@dataclass(frozen=True)
class ReportData:
    title: str
    t_from: float
    t_to: float
    site: Site | None
    zone: str | None
    tracks: tuple[TrackPath, ...]
    alerts: tuple[AlertRecord, ...]
    actions: tuple[OperatorAction, ...]
    config: tuple[ConfigChange, ...]
    health: tuple[SensorHealth, ...]
    launches: tuple[LaunchEstimate, ...] = field(default_factory=tuple)
    events: tuple[Event, ...] = field(default_factory=tuple)
    investigation: dict[str, Any] | None = None

    def group(self, p: TrackPath) -> str:
        return group_of(p, self.site)

    @property
    def suspects(self) -> list[TrackPath]:
        return [p for p in self.tracks if self.group(p) == "suspect"]


def _launches(paths: Sequence[TrackPath], site: Site | None) -> list[LaunchEstimate]:
    out = []
    for tid, lp in launch_points(paths, site).items():
        el = lp.ellipse
        out.append(
            LaunchEstimate(
                tid,
                lp.origin_enu[0],
                lp.origin_enu[1],
                lp.method,
                el.semi_major_m,
                el.semi_minor_m,
                el.orientation_deg,
            )
        )
    return out


def _in_zone(p: TrackPath, site: Site, zone: str) -> bool:
    z = next((z for z in site.zones if z.id == zone), None)
    if z is None:
        raise ValueError(f"zone {zone!r} is not in site {site.name!r}")
    return any(z.contains(s.x[0], s.x[1], s.x[2]) for s in p.states)


def build_report(
    records: Iterable[Record],
    t_from: float,
    t_to: float,
    site: Site | None = None,
    zone: str | None = None,
    title: str = "Incident report",
) -> ReportData:
    """Collect what the report shows from records in ``[t_from, t_to]``."""
    recs = [r for r in records if t_from <= r.t <= t_to]
    paths = ordered(merge_runs(track_paths(recs)), site)
    if zone is not None:
        if site is None:
            raise ValueError("a zone filter needs the site description")
        paths = [p for p in paths if _in_zone(p, site, zone)]
    kept = {p.track_id for p in paths}
    alerts = [
        r
        for r in recs
        if isinstance(r, AlertRecord)
        and (zone is None or r.zone_id == zone or (r.track_id is not None and r.track_id in kept))
    ]
    per_sensor: dict[str, list[RawMessage]] = {}
    for r in recs:
        if isinstance(r, RawMessage):
            per_sensor.setdefault(r.sensor_id, []).append(r)
    sensor_ids = list(per_sensor)
    expected: dict[str, float] = {}
    if site is not None:
        expected = {s.id: s.update_s for s in site.sensors}
        sensor_ids += [s.id for s in site.sensors if s.id not in per_sensor]
    health = []
    for sid in sorted(sensor_ids):
        msgs = per_sensor.get(sid, [])
        times = sorted(m.t for m in msgs)
        edges = [t_from, *times, t_to]
        gap = max(b - a for a, b in itertools.pairwise(edges))
        n_det = sum(len(detections_of(m)) for m in msgs)
        health.append(
            SensorHealth(
                sid,
                len(msgs),
                n_det,
                times[0] if times else None,
                times[-1] if times else None,
                gap,
                expected.get(sid),
                tuple(times),
            )
        )
    confirmed = [p for p in paths if p.confirmed]
    actions = sorted((r for r in recs if isinstance(r, OperatorAction)), key=_t)
    alerts_sorted = sorted(alerts, key=lambda a: a.t)
    inv = [r for r in recs if isinstance(r, InvestigationRecord)]
    return ReportData(
        title=title,
        t_from=t_from,
        t_to=t_to,
        site=site,
        zone=zone,
        tracks=tuple(paths),
        alerts=tuple(alerts_sorted),
        actions=tuple(actions),
        config=tuple(r for r in recs if isinstance(r, ConfigChange)),
        health=tuple(health),
        launches=tuple(_launches(confirmed, site)),
        events=tuple(timeline(paths, alerts_sorted, actions, site, t_to)),
        investigation=inv[-1].body if inv else None,
    )


ABSOLUTE_T = 1e9  # times above this are UNIX seconds (after 2001), below: scenario seconds


def clock_text(t: float) -> str:
    """A record time for people: UTC time of day (the date is in the window line), or plain
    seconds for scenario-relative times."""
    if t < ABSOLUTE_T:
        return f"{t:.1f}"
    return datetime.fromtimestamp(t, tz=UTC).strftime("%H:%M:%S.%f")[:-5]


def window_text(t0: float, t1: float) -> str:
    span = f"({t1 - t0:.0f} s)"
    if t0 < ABSOLUTE_T:
        return f"{t0:.1f} s to {t1:.1f} s {span}"
    day = datetime.fromtimestamp(t0, tz=UTC).strftime("%Y-%m-%d")
    return f"{day} {clock_text(t0)} to {clock_text(t1)} UTC {span}"


def _t(r: Record) -> float:
    return r.t


def report_from_journal(
    journal: Journal,
    t_from: float,
    t_to: float,
    site: Site | None = None,
    zone: str | None = None,
    title: str = "Incident report",
) -> ReportData:
    return build_report(journal.records(t_from, t_to), t_from, t_to, site, zone, title)


# ----------------------------------------------------------------------------- figures


def _colour(cls: str) -> str:
    return CLASS_COLOURS.get(cls, CLASS_COLOURS["unknown"])


A4_LANDSCAPE = (11.69, 8.27)


def _tick_text(v: float) -> str:
    if v < ABSOLUTE_T:
        return f"{v:.0f}"
    return datetime.fromtimestamp(v, tz=UTC).strftime("%H:%M:%S")


_CLOCK = FuncFormatter(lambda v, _pos: _tick_text(v))


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
        if 0 < lp.semi_major_m <= MAX_ELLIPSE_DRAWN_M:  # wider says only "somewhere there"
            ax.add_patch(
                EllipsePatch(
                    (lp.e, lp.n),
                    2 * lp.semi_minor_m,
                    2 * lp.semi_major_m,
                    angle=-lp.orientation_deg,
                    fill=False,
                    ec="black",
                    ls="--",
                    lw=0.8,
                )
            )
        ax.annotate(
            f"launch {lp.track_id}",
            (lp.e, lp.n),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    if d.launches:
        ax.plot([], [], "x", color="black", label="launch region (95 %)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.set_title("Tracks by class (suspect drones red), zones, sensors and launch regions")
    ax.grid(alpha=0.3)
    if seen or d.launches:
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


def alert_rows(d: ReportData) -> list[list[str]]:
    rows: list[tuple[float, list[str]]] = []
    for a in d.alerts:
        move = f"{a.from_state or '-'} -> {a.to_state}"
        rows.append(
            (
                a.t,
                [
                    clock_text(a.t),
                    "alert",
                    a.alert_id,
                    a.track_id or "",
                    a.zone_id or "",
                    move,
                    a.level,
                    a.actor,
                    a.reason,
                ],
            )
        )
    for o in d.actions:
        rows.append(
            (
                o.t,
                [
                    clock_text(o.t),
                    "operator",
                    o.target or "",
                    "",
                    "",
                    o.action,
                    "",
                    o.operator,
                    str(o.detail.get("note", "")),
                ],
            )
        )
    return [r for _, r in sorted(rows, key=lambda x: x[0])]


ALERT_HEAD = [
    "time",
    "what",
    "alert / target",
    "track",
    "zone",
    "transition / action",
    "level",
    "who",
    "reason / note",
]


def _evidence(p: TrackPath) -> str:
    """Class evidence at the end: the two most probable classes."""
    probs = sorted(p.states[-1].class_probs.items(), key=lambda kv: -kv[1])[:2]
    return ", ".join(f"{k} {v:.0%}" for k, v in probs)


def _sensors(p: TrackPath) -> str:
    return " ".join(sorted({x for s in p.states for x in s.sensors}))


def track_rows(d: ReportData) -> list[list[str]]:
    launch = {lp.track_id: lp for lp in d.launches}
    out = []
    for p in d.tracks:
        s0, s1 = p.states[0], p.states[-1]
        lp = launch.get(p.track_id)
        out.append(
            [
                p.track_id,
                d.group(p),
                p.best_class,
                _evidence(p),
                p.identity or "",
                f"{_tick_text(s0.t)}-{_tick_text(s1.t)}",
                f"{max(s.speed for s in p.states):.1f}",
                f"{max(s.x[2] for s in p.states):.0f}",
                _sensors(p),
                f"({lp.e:.0f}, {lp.n:.0f}) +-{lp.semi_major_m:.0f} m {lp.method}" if lp else "",
            ]
        )
    return out


TRACK_HEAD = [
    "track",
    "group",
    "class",
    "class evidence",
    "identity",
    "time span (UTC)",
    "max speed (m/s)",
    "max alt (m)",
    "sensors",
    "launch region (E, N m)",
]
EVENT_HEAD = ["time (UTC)", "track", "event", "detail"]
INVESTIGATION_HEAD = [
    "track",
    "live ids",
    "first trace",
    "before live (s)",
    "launch (E, N m)",
    "sensor",
    "what it should have seen vs what it did",
]


def event_rows(d: ReportData) -> list[list[str]]:
    return [[clock_text(e.t), e.track_id, e.what, e.detail] for e in d.events]


def investigation_rows(d: ReportData) -> list[list[str]]:
    """The journaled investigation's suspect tracks, one row per sensor account."""
    if not d.investigation:
        return []
    rows = []
    for t in d.investigation.get("tracks", []):
        if not t.get("suspect"):
            continue
        lp = t.get("launch")
        where = f"({lp['origin_enu_m'][0]:.0f}, {lp['origin_enu_m'][1]:.0f})" if lp else ""
        head = [
            str(t["id"]),
            " ".join(t.get("live_ids", [])),
            clock_text(float(t["first_trace_t"])),
            f"{float(t['earlier_by_s']):.1f}",
            where,
        ]
        for k, m in enumerate(t.get("missed") or [{"sensor": "", "verdict": ""}]):
            rows.append((head if k == 0 else [""] * len(head)) + [m["sensor"], m["verdict"]])
    return rows


HEALTH_HEAD = ["sensor", "status", "messages", "detections", "first t", "last t", "max gap (s)"]


def health_rows(d: ReportData) -> list[list[str]]:
    def f(v: float | None) -> str:
        return "" if v is None else clock_text(v)

    return [
        [
            h.sensor_id,
            h.status,
            str(h.messages),
            str(h.detections),
            f(h.first_t),
            f(h.last_t),
            f"{h.max_gap_s:.1f}",
        ]
        for h in d.health
    ]


# ----------------------------------------------------------------------------- HTML / PDF


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _table(cls: str, head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    h = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(head)}">none</td></tr>'
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;
margin:0.5em 0 1.5em}td,th{border:1px solid #bbb;padding:3px 6px;font-size:12px}
th{background:#eee}img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}
.bad{color:#d62728;font-weight:bold}"""


def render_html(d: ReportData) -> str:
    """One self-contained HTML page (no external resources)."""
    site = d.site.name if d.site else "unknown site"
    zone = f", zone {html.escape(d.zone)}" if d.zone else ""
    figs = figures(d)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(d.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(d.title)}</h1>",
        f"<p>Site {html.escape(site)}{zone}; window {window_text(d.t_from, d.t_to)}; "
        f"{len(d.tracks)} tracks ({len(d.suspects)} suspect drones), "
        f"{len(d.alerts)} alert transitions, {len(d.actions)} operator actions.</p>",
        "<h2>Incident timeline</h2>",
        _table("events", EVENT_HEAD, event_rows(d)),
        "<h2>Map</h2>",
        f'<img id="map" alt="map" src="data:image/png;base64,{_png(figs[0][1])}">',
        "<h2>Tracks</h2>",
        _table("tracks", TRACK_HEAD, track_rows(d)),
        "<h2>Alerts and acknowledgements</h2>",
        _table("alerts", ALERT_HEAD, alert_rows(d)),
        "<h2>Timeline</h2>",
        f'<img id="timeline" alt="timeline" src="data:image/png;base64,{_png(figs[1][1])}">',
        "<h2>Sensor health</h2>",
        _table("health", HEALTH_HEAD, health_rows(d)),
        f'<img id="health" alt="sensor health" src="data:image/png;base64,{_png(figs[2][1])}">',
        "<h2>Track kinematics</h2>",
    ]
    for name, fig in figs[3:]:
        parts.append(
            f'<img class="kinematics" alt="{html.escape(name)}" '
            f'src="data:image/png;base64,{_png(fig)}">'
        )
    if d.investigation:
        parts += [
            "<h2>Investigation</h2>",
            "<p>Retrospective re-run of the recorded reports (skywarden investigate): "
            "earliest trace, launch region and, per sensor, what it should have seen.</p>",
            _table("investigation", INVESTIGATION_HEAD, investigation_rows(d)),
        ]
    if d.config:
        rows = [
            [clock_text(c.t), c.actor, c.key, repr(c.old), repr(c.new), c.note] for c in d.config
        ]
        parts += [
            "<h2>Configuration changes</h2>",
            _table("config", ["time", "who", "setting", "old", "new", "note"], rows),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def _col_widths(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[float]:
    """Column widths by content (characters, at least 4): the table spans the page width."""
    n = [max(4, len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    tot = float(sum(n))
    return [k / tot for k in n]


def _font_size(head: Sequence[str], rows: Sequence[Sequence[str]]) -> float:
    """8 pt, smaller when the widest rows would not fit the page width (about 110 characters:
    cells pad their text)."""
    n = sum(max(4, len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head))
    return max(5.0, min(8.0, 8.0 * 110.0 / n))


def _table_pages(
    title: str, head: list[str], rows: list[list[str]], per_page: int = 28
) -> list[Figure]:
    pages = []
    chunks = [rows[i : i + per_page] for i in range(0, len(rows), per_page)] or [[]]
    for k, chunk in enumerate(chunks):
        fig = Figure(figsize=(11.69, 8.27))
        ax: Axes = fig.add_subplot()
        ax.axis("off")
        suffix = f" ({k + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        ax.set_title(title + suffix, loc="left")
        cells = [[c[:90] for c in r] for r in chunk] or [["none"] + [""] * (len(head) - 1)]
        tab = ax.table(
            cellText=cells,
            colLabels=head,
            loc="upper left",
            cellLoc="left",
            colWidths=_col_widths(head, cells),
        )
        tab.auto_set_font_size(False)
        tab.set_fontsize(_font_size(head, cells))
        tab.scale(1.0, 1.3)
        pages.append(fig)
    return pages


def _cover(d: ReportData) -> Figure:
    """Page 1: what happened, in a few lines, and the incident timeline's first rows."""
    cover = Figure(figsize=A4_LANDSCAPE)
    site = d.site.name if d.site else "unknown site"
    sus = d.suspects
    lines = [
        f"Site: {site}" + (f"   zone: {d.zone}" if d.zone else ""),
        f"Window: {window_text(d.t_from, d.t_to)}",
        f"Tracks: {len(d.tracks)}, of which suspect drones: {len(sus)} "
        f"({', '.join(p.track_id for p in sus) or 'none'})",
        f"Alert transitions: {len(d.alerts)}   operator actions: {len(d.actions)}",
        "Sensors: " + ", ".join(f"{h.sensor_id} {h.status}" for h in d.health),
    ]
    cover.text(0.05, 0.95, d.title, va="top", fontsize=18, weight="bold")
    cover.text(0.05, 0.88, "\n".join(lines), va="top", fontsize=11, linespacing=1.5)
    rows = event_rows(d)[:22]
    ax = cover.add_axes((0.05, 0.04, 0.9, 0.56))
    ax.axis("off")
    ax.set_title("Incident timeline (UTC)", loc="left", fontsize=12)
    if rows:
        tab = ax.table(
            cellText=rows,
            colLabels=EVENT_HEAD,
            loc="upper left",
            cellLoc="left",
            colWidths=[0.15, 0.1, 0.3, 0.45],
        )
        tab.auto_set_font_size(False)
        tab.set_fontsize(9)
    else:
        ax.text(0, 0.9, "no suspect drone in the window", fontsize=10)
    return cover


def render_pdf(d: ReportData, out: str | Path | IO[bytes]) -> int:
    """Write the report as a multi-page PDF; returns the number of pages."""
    pages: list[Figure] = [_cover(d)]
    figs = figures(d)
    pages.append(figs[0][1])
    if len(event_rows(d)) > 22:  # the cover holds the first 22
        pages += _table_pages("Incident timeline (UTC)", EVENT_HEAD, event_rows(d))
    pages += _table_pages("Tracks, suspect drones first", TRACK_HEAD, track_rows(d))
    if d.investigation:
        pages += _table_pages(
            "Investigation: earliest trace and what each sensor missed",
            INVESTIGATION_HEAD,
            investigation_rows(d),
        )
    pages += _table_pages("Alerts and acknowledgements", ALERT_HEAD, alert_rows(d))
    pages.append(figs[1][1])
    pages += _table_pages("Sensor health", HEALTH_HEAD, health_rows(d))
    pages.append(figs[2][1])
    pages += [f for _, f in figs[3:]]
    with PdfPages(out, metadata={"Title": d.title, "Creator": "skywarden"}) as pdf:
        for p in pages:
            pdf.savefig(p)
    return len(pages)


def write_report(d: ReportData, path: str | Path) -> Path:
    """HTML or PDF by the file's suffix (``.pdf``; anything else is HTML)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() == ".pdf":
        render_pdf(d, p)
    else:
        p.write_text(render_html(d), encoding="utf-8")
    return p
