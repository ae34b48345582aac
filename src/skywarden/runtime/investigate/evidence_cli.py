"""``skywarden evidence JOURNAL --from --to -o DIR``: seal a window of the journal as evidence.

Runs, over the window: the investigation (``runtime.investigate.rerun``, record only: nothing is
written into the journal being sealed), the incident report (``store.report``, PDF and HTML),
and the segment export; then ``store.evidence.seal`` writes the files, the manifest, the
Ed25519 signature (``--key`` PEM, or ``SKYWARDEN_EVIDENCE_KEY``; without one a one-off key is
made and only its fingerprint vouches for the package) and the RFC 3161 timestamp from the
time-stamping authority at ``--tsa`` (or ``SKYWARDEN_TSA_URL``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from urllib.error import URLError

from skywarden.core.clock import WallClock
from skywarden.core.errors import ConfigError
from skywarden.runtime.investigate.cli import record
from skywarden.runtime.investigate.rerun import investigate_source
from skywarden.runtime.offline.replay import journal_site
from skywarden.store.evidence import export_segment, load_key, seal
from skywarden.store.journal import Journal
from skywarden.store.report import build_report, render_html, render_pdf
from skywarden.store.timestamp import TimestampError
from skywarden.store.verify_text import Unreadable, clock, open_existing


def evidence_command(a: argparse.Namespace) -> int:
    try:
        db = open_existing(a.journal)
    except Unreadable as e:
        print(f"skywarden evidence: {e}", file=sys.stderr)
        return 2
    try:
        j = Journal(db, 1 << 62, 1e18)  # read only: segment limits never reached
        rng = j.time_range()
        if rng is None:
            raise ValueError("the journal is empty")
        t0 = a.t_from if a.t_from is not None else rng[0]
        t1 = a.t_to if a.t_to is not None else rng[1]
        site = journal_site(j)
        seg = export_segment(db, t0, t1)
        recs = list(j.records(t0, t1))
    except (ValueError, ConfigError) as e:
        db.close()
        print(f"skywarden evidence: {e}", file=sys.stderr)
        return 2
    db.close()
    inv = investigate_source(a.journal, t0, t1, site)
    rec = record(inv, a.journal)
    data = replace(build_report(recs, t0, t1, site, None, a.title), investigation=rec)
    pdf = io.BytesIO()
    render_pdf(data, pdf)
    files = {
        "report.pdf": pdf.getvalue(),
        "report.html": render_html(data).encode("utf-8"),
        "investigation.json": json.dumps(rec, indent=1).encode("utf-8"),
    }
    meta = {
        "journal": a.journal,
        "site": site.name,
        "window": [t0, t1],
        "window_utc": [clock(t0), clock(t1)],
        "sealed_utc": clock(WallClock().now()),
    }
    tsa = a.tsa or os.environ.get("SKYWARDEN_TSA_URL") or None
    try:
        key = load_key(a.key or os.environ.get("SKYWARDEN_EVIDENCE_KEY") or None)
        m = seal(Path(a.output), seg, files, meta, key, tsa)
    except (ValueError, OSError, URLError, TimestampError) as e:
        print(f"skywarden evidence: {e}", file=sys.stderr)
        return 2
    print(
        f"{a.output}: journal seq {seg.first_seq}..{seg.last_seq} ({len(seg.lines)} records), "
        f"report, investigation; signed by {m['signer']['fingerprint'][:16]}...; "
        + ("timestamped by " + tsa if tsa else "NOT timestamped (no --tsa)")
    )
    if not seg.journal_intact:
        print("warning: the journal's own chain did not verify when sealed", file=sys.stderr)
    return 0
