"""``skywarden verify``: the journal check (``store.integrity``) as a summary a person reads.

Exit codes are part of the interface (scripts and the evidence procedure rely on them):

* ``0`` intact: every record and segment checks;
* ``1`` tampered: the chain (or an evidence package, ``store.evidence``) names what changed;
* ``2`` missing or unreadable: no such file, not a SQLite database, not a skywarden journal,
  or the PostgreSQL server cannot be reached. Nothing is created or migrated in that case:
  a verifier must not write to what it checks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from skywarden.store.db import Database, DbUrl, parse_url
from skywarden.store.integrity import VerifyResult, verify_db

EXIT_INTACT = 0
EXIT_TAMPERED = 1
EXIT_UNREADABLE = 2
_SQLITE_MAGIC = b"SQLite format 3\x00"
_MAX_LISTED = 10


class Unreadable(Exception):
    """The thing to verify is missing or cannot be read as a journal (exit 2)."""


@dataclass(frozen=True)
class Outcome:
    code: int
    text: str


def clock(t: float | None) -> str:
    """UNIX seconds as an ISO UTC clock time (what investigators read), '-' for None."""
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _check_sqlite(u: DbUrl) -> None:
    p = Path(u.target)
    if not p.exists():
        raise Unreadable(f"no journal at {p}")
    if not p.is_file():
        raise Unreadable(f"{p} is not a file")
    try:
        with p.open("rb") as f:
            magic = f.read(len(_SQLITE_MAGIC))
    except OSError as e:
        raise Unreadable(f"cannot read {p}: {e.strerror or e}") from e
    if magic != _SQLITE_MAGIC:
        raise Unreadable(f"{p} is not a SQLite database")
    try:  # read-only look first: opening it as a journal would switch it to WAL mode
        con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            con.close()
    except sqlite3.Error as e:
        raise Unreadable(f"cannot read {p}: {e}") from e
    if not {"journal", "segments"} <= {str(r[0]) for r in rows}:
        raise Unreadable(f"{p} is not a skywarden journal (no journal/segments tables)")


def open_existing(url: str) -> Database:
    """Open a journal that must already exist; :class:`Unreadable` otherwise (never creates)."""
    u = parse_url(url)
    if u.dialect == "sqlite":
        _check_sqlite(u)
    try:
        db = Database(u)
    except (sqlite3.Error, psycopg.Error, OSError) as e:
        raise Unreadable(f"cannot open {url}: {str(e).strip().splitlines()[0] or e}") from e
    try:
        tables = _tables(db)
        if not {"journal", "segments"} <= tables:
            raise Unreadable(f"{url} is not a skywarden journal (no journal/segments tables)")
    except (sqlite3.Error, psycopg.Error) as e:
        db.close()
        raise Unreadable(f"cannot read {url}: {e}") from e
    except Unreadable:
        db.close()
        raise
    return db


def _tables(db: Database) -> set[str]:
    if db.url.dialect == "sqlite":
        rows = db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = db.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    return {str(r[0]) for r in rows}


def summarize(where: str, res: VerifyResult, span: tuple[float, float] | None) -> str:
    """Several lines: verdict, records, time span in clock time, head; problems if any."""
    verdict = "INTACT" if res.ok else "TAMPERED"
    lines = [
        f"journal   {where}",
        f"verdict   {verdict}",
        f"records   {res.records} in {res.segments} segments "
        f"({res.segments_dropped} dropped by retention)",
        f"span      {clock(span[0]) if span else '-'}  to  {clock(span[1]) if span else '-'}",
        f"head      seq {res.head_seq}  sha256 {res.head_hash}",
    ]
    if not res.ok:
        lines.append(f"first bad seq {res.first_bad_seq}: {res.reason}")
        for p in res.problems[:_MAX_LISTED]:
            lines.append(f"  seq {p.seq}: {p.reason}")
        if len(res.problems) > _MAX_LISTED:
            lines.append(f"  ... and {len(res.problems) - _MAX_LISTED} more problems")
    return "\n".join(lines)


def verify_journal(url: str) -> tuple[VerifyResult, tuple[float, float] | None]:
    """Check an existing journal's chain; :class:`Unreadable` when it cannot be read."""
    db = open_existing(url)
    try:
        res = verify_db(db)
        r = db.query("SELECT min(t), max(t) FROM journal")[0]
        span = None if r[0] is None else (float(r[0]), float(r[1]))
        return res, span
    except (sqlite3.Error, psycopg.Error) as e:
        raise Unreadable(f"cannot read {url}: {e}") from e
    finally:
        db.close()


def verify_package_text(p: Path, tsa_ca: bytes | None = None) -> Outcome:
    """An evidence package (``store.evidence``): every part checked offline, the altered named."""
    from skywarden.store.evidence import verify_package

    res = verify_package(p, tsa_ca)
    if not res.readable:
        return Outcome(EXIT_UNREADABLE, f"verdict   UNREADABLE\nreason    {res.problems[0]}")
    lines = [f"package   {p}", f"verdict   {'INTACT' if res.ok else 'TAMPERED'}"]
    lines += [f"  {n}" for n in res.notes]
    lines += [f"  ALTERED: {x}" for x in res.problems]
    return Outcome(EXIT_INTACT if res.ok else EXIT_TAMPERED, "\n".join(lines))


def verify_command(target: str, tsa_ca: str | None = None) -> Outcome:
    """What ``skywarden verify TARGET`` prints and returns: a journal or an evidence package."""
    p = Path(target)
    if p.is_dir():
        try:
            ca = Path(tsa_ca).read_bytes() if tsa_ca else None
        except OSError as e:
            return Outcome(EXIT_UNREADABLE, f"verdict   UNREADABLE\nreason    {e}")
        return verify_package_text(p, ca)
    try:
        res, span = verify_journal(target)
    except Unreadable as e:
        return Outcome(EXIT_UNREADABLE, f"verdict   UNREADABLE\nreason    {e}")
    return Outcome(EXIT_INTACT if res.ok else EXIT_TAMPERED, summarize(target, res, span))
