"""The incident report's tables: rows of strings, shared by the HTML and the PDF."""

from __future__ import annotations

from skywarden.store.export import TrackPath
from skywarden.store.report_data import ReportData, clock_text
from skywarden.store.report_figures import tick_text


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
                f"{tick_text(s0.t)}-{tick_text(s1.t)}",
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


IMPACT_HEAD = [
    "track",
    "class",
    "what",
    "impact / debris (E, N m)",
    "95 % ellipse (m)",
    "time (UTC)",
    "last seen (UTC)",
    "origin (E, N m)",
]


def impact_rows(d: ReportData) -> list[list[str]]:
    """Ballistic rounds: where each landed (or its debris fell) and where it came from."""
    cls = {p.track_id: p.best_class for p in d.tracks}
    return [
        [
            a.track_id,
            cls.get(a.track_id, ""),
            a.kind,
            f"({a.e:.0f}, {a.n:.0f})",
            f"{a.semi_major_m:.0f} x {a.semi_minor_m:.0f}, {a.orientation_deg:.0f} deg",
            clock_text(a.impact_t),
            clock_text(a.last_seen_t),
            f"({a.origin_en[0]:.0f}, {a.origin_en[1]:.0f})" if a.origin_en else "",
        ]
        for a in d.impacts
    ]
