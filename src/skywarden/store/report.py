"""Incident report over a time window: self-contained HTML (images inline) and PDF.

What an investigator asks first, in order: the incident timeline, the map of what flew
where (tracks coloured by class, zones, sensors, launch regions, impact areas), the tracks
with their evidence, where ballistic rounds landed, the investigation's findings, the alerts
raised and who acknowledged them, the timeline of reports per sensor, whether every sensor
was healthy, each track's speed and altitude. Everything comes from journal records (the
report reads nothing else but the optional site description; ``store.report_data``) and is
drawn with matplotlib's object API (``store.report_figures``: no pyplot state, no display,
no internet): PNGs base64-embedded in the HTML, ``PdfPages`` for the PDF.

The body is the list :data:`SECTIONS`, in order; each :class:`Section` renders itself in
both forms, so a new part of the report (image chips of a camera's detections, say) is one
small module with one ``Section`` inserted into the list, not an edit of two renderers.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from skywarden.store.records import ConfigChange
from skywarden.store.report_chips import CHIP_KEY, chips_html, chips_pdf
from skywarden.store.report_data import (
    ReportData,
    build_report,
    clock_text,
    report_from_journal,
    window_text,
)
from skywarden.store.report_figures import A4_LANDSCAPE, figures
from skywarden.store.report_tables import (
    ALERT_HEAD,
    EVENT_HEAD,
    HEALTH_HEAD,
    IMPACT_HEAD,
    INVESTIGATION_HEAD,
    TRACK_HEAD,
    alert_rows,
    event_rows,
    health_rows,
    impact_rows,
    investigation_rows,
    track_rows,
)

__all__ = [
    "SECTIONS",
    "Section",
    "build_report",
    "render_html",
    "render_pdf",
    "report_from_journal",
    "write_report",
]

COVER_EVENTS = 22  # incident timeline rows on the PDF's cover page


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
    rows = event_rows(d)[:COVER_EVENTS]
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


@dataclass(frozen=True)
class Figures:
    """The report's figures, drawn once per rendering and shared by the sections."""

    named: list[tuple[str, Figure]]

    @property
    def map(self) -> Figure:
        return self.named[0][1]

    @property
    def timeline(self) -> Figure:
        return self.named[1][1]

    @property
    def health(self) -> Figure:
        return self.named[2][1]

    @property
    def kinematics(self) -> list[tuple[str, Figure]]:
        return self.named[3:]


@dataclass(frozen=True)
class Section:
    """One part of the report body: its HTML (a fragment, "" to leave it out) and its PDF
    pages ([] to leave it out), both from the same data."""

    key: str
    html: Callable[[ReportData, Figures], str]
    pdf: Callable[[ReportData, Figures], list[Figure]]


def _img(id_: str, alt: str, fig: Figure, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<img id="{id_}"{c} alt="{html.escape(alt)}" src="data:image/png;base64,{_png(fig)}">'


def _tab_section(
    key: str,
    title: str,
    head: list[str],
    rows: Callable[[ReportData], list[list[str]]],
    when: Callable[[ReportData], bool] = lambda d: True,
    pdf_title: str | None = None,
    note: str = "",
) -> Section:
    """A section that is one table (HTML) and its table pages (PDF)."""

    def h(d: ReportData, f: Figures) -> str:
        if not when(d):
            return ""
        p = f"<p>{html.escape(note)}</p>" if note else ""
        return f"<h2>{html.escape(title)}</h2>{p}" + _table(key, head, rows(d))

    def p(d: ReportData, f: Figures) -> list[Figure]:
        return _table_pages(pdf_title or title, head, rows(d)) if when(d) else []

    return Section(key, h, p)


def _events_pdf(d: ReportData, f: Figures) -> list[Figure]:
    rows = event_rows(d)
    return (
        _table_pages("Incident timeline (UTC)", EVENT_HEAD, rows)
        if len(rows) > COVER_EVENTS
        else []
    )


def _settings(d: ReportData) -> list[ConfigChange]:
    """The configuration changes proper: not the cameras' tasks and chips (``cue.*``)."""
    return [c for c in d.config if not c.key.startswith("cue.") and c.key != CHIP_KEY]


def _config_rows(d: ReportData) -> list[list[str]]:
    return [
        [clock_text(c.t), c.actor, c.key, repr(c.old), repr(c.new), c.note] for c in _settings(d)
    ]


SECTIONS: list[Section] = [
    Section(
        "events",
        lambda d, f: "<h2>Incident timeline</h2>" + _table("events", EVENT_HEAD, event_rows(d)),
        _events_pdf,  # the cover holds the first rows
    ),
    Section("map", lambda d, f: "<h2>Map</h2>" + _img("map", "map", f.map), lambda d, f: [f.map]),
    _tab_section(
        "tracks", "Tracks", TRACK_HEAD, track_rows, pdf_title="Tracks, suspect drones first"
    ),
    _tab_section(
        "impacts",
        "Impact and debris areas of ballistic rounds",
        IMPACT_HEAD,
        impact_rows,
        when=lambda d: bool(d.impacts),
        note="The live prediction at each round's last update (95 % ellipse); a round lost "
        "in flight is shown where its debris came down.",
    ),
    _tab_section(
        "investigation",
        "Investigation",
        INVESTIGATION_HEAD,
        investigation_rows,
        when=lambda d: bool(d.investigation),
        pdf_title="Investigation: earliest trace and what each sensor missed",
        note="Retrospective re-run of the recorded reports (skywarden investigate): "
        "earliest trace, launch region and, per sensor, what it should have seen.",
    ),
    Section("chips", chips_html, chips_pdf),  # camera chips of cued tracks (store.report_chips)
    _tab_section("alerts", "Alerts and acknowledgements", ALERT_HEAD, alert_rows),
    Section(
        "timeline",
        lambda d, f: "<h2>Timeline</h2>" + _img("timeline", "timeline", f.timeline),
        lambda d, f: [f.timeline],
    ),
    Section(
        "health",
        lambda d, f: (
            "<h2>Sensor health</h2>"
            + _table("health", HEALTH_HEAD, health_rows(d))
            + _img("health", "sensor health", f.health)
        ),
        lambda d, f: [*_table_pages("Sensor health", HEALTH_HEAD, health_rows(d)), f.health],
    ),
    Section(
        "kinematics",
        lambda d, f: (
            "<h2>Track kinematics</h2>"
            + "".join(
                f'<img class="kinematics" alt="{html.escape(n)}" '
                f'src="data:image/png;base64,{_png(g)}">'
                for n, g in f.kinematics
            )
        ),
        lambda d, f: [g for _, g in f.kinematics],
    ),
    _tab_section(
        "config",
        "Configuration changes",
        ["time", "who", "setting", "old", "new", "note"],
        _config_rows,
        when=lambda d: bool(_settings(d)),
    ),
]
"""The report body in order. Insert a :class:`Section` to add a part to both renderings."""


def render_html(d: ReportData) -> str:
    """One self-contained HTML page (no external resources)."""
    site = d.site.name if d.site else "unknown site"
    zone = f", zone {html.escape(d.zone)}" if d.zone else ""
    figs = Figures(figures(d))
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(d.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(d.title)}</h1>",
        f"<p>Site {html.escape(site)}{zone}; window {window_text(d.t_from, d.t_to)}; "
        f"{len(d.tracks)} tracks ({len(d.suspects)} suspect drones), "
        f"{len(d.alerts)} alert transitions, {len(d.actions)} operator actions.</p>",
    ]
    parts += [s.html(d, figs) for s in SECTIONS]
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def render_pdf(d: ReportData, out: str | Path | IO[bytes]) -> int:
    """Write the report as a multi-page PDF; returns the number of pages."""
    figs = Figures(figures(d))
    pages: list[Figure] = [_cover(d)]
    for s in SECTIONS:
        pages += s.pdf(d, figs)
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
