"""Visual evidence of a slew-to-cue run: one HTML page, a card per cued track.

Each card: the track id, when its alert was raised, when the camera was tasked (and the
computed slew time), when it was on target, when the camera's detections joined the track,
the track's class probabilities, and the last image chip the camera sent for it (the JPEG
from the DetectionReport, inlined as a data URL). ``skywarden cue`` writes it.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from skywarden.runtime.cue.controller import CueLog


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def evidence_html(log: CueLog, title: str) -> str:
    cards = []
    for tid, (t_task, slew) in sorted(log.first_task.items(), key=lambda kv: kv[1][0]):
        probs = log.classes.get(tid, {})
        top = sorted(probs.items(), key=lambda kv: -kv[1])[:3]
        classes = ", ".join(f"{html.escape(c)} {p:.2f}" for c, p in top) or "-"
        conf = log.confirmed.get(tid)
        chip = log.chips.get(tid)
        img = (
            f'<img alt="chip of track {html.escape(tid)}" '
            f'src="data:image/jpeg;base64,{base64.b64encode(chip).decode()}">'
            if chip
            else '<div class="nochip">no camera detection</div>'
        )
        cards.append(
            f'<section class="card" data-track="{html.escape(tid)}">{img}<div>'
            f"<h2>track {html.escape(tid)}</h2><dl>"
            f"<dt>alert raised</dt><dd>{_fmt(log.alerts.get(tid))}</dd>"
            f"<dt>camera tasked</dt><dd>{_fmt(t_task)} (slew {slew:.2f} s)</dd>"
            f"<dt>on target</dt><dd>{_fmt(log.on_target.get(tid))}</dd>"
            f"<dt>camera joined track</dt><dd>{_fmt(conf[0] if conf else None)}</dd>"
            f"<dt>class</dt><dd>{classes}</dd></dl></div></section>"
        )
    style = (
        "body{font:14px sans-serif;background:#111;color:#ddd;margin:16px}"
        ".card{display:flex;gap:12px;background:#1c1c1c;margin:8px 0;padding:8px;"
        "border-radius:6px}.card img{width:128px;height:128px;image-rendering:pixelated}"
        ".nochip{width:128px;height:128px;background:#333;display:flex;align-items:center;"
        "justify-content:center;text-align:center}h2{margin:0 0 4px;font-size:16px}"
        "dl{display:grid;grid-template-columns:max-content auto;gap:2px 10px;margin:0}"
        "dt{color:#999}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{log.tasks} LookAt tasks, {log.camera_reports} camera detection reports.</p>"
        f"{''.join(cards)}</body></html>"
    )


def write_evidence(log: CueLog, title: str, out: str | Path) -> None:
    Path(out).write_text(evidence_html(log, title), encoding="utf-8")
