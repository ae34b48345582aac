"""Database access for the journal: SQLite (embedded default) or PostgreSQL, chosen by URL.

URLs::

    sqlite:///var/journal.sqlite        -> /var/journal.sqlite (everything after ``sqlite://``)
    sqlite:relative/journal.sqlite      -> relative path
    /var/journal.sqlite                 -> a bare path is SQLite too
    postgresql://user@host:5432/db?schema=sw    (``schema`` picks/creates a schema; other
                                                  query parameters go to libpq)

Options common to both (query parameters): ``segment_records`` and ``segment_span_s`` (see
``store.journal``); SQLite only: ``synchronous`` (``FULL`` by default).

Durability. A record must be on stable storage before the message it carries is
acknowledged. SQLite in WAL mode with ``synchronous=FULL`` fsyncs the WAL at every commit, so
a committed transaction survives both a process crash and a power loss. ``NORMAL`` in WAL
mode survives a process crash (SIGKILL) but may lose the last commits on power loss or an OS
crash, which breaks "acknowledged means recorded"; it stays available as an explicit option
for bulk imports. Batching (``append_many``) pays one fsync per batch, which is what keeps
the journal well above 5,000 messages/s. PostgreSQL: ``synchronous_commit`` is forced ``on``
for the session, so ``COMMIT`` returns after the WAL flush.

Migrations are ordered SQL per version with ``{real}``/``{blob}``/``{bigint}`` placeholders
filled per dialect; ``schema_version`` records which have run. SQL uses ``?`` placeholders;
the PostgreSQL backend rewrites them to ``%s``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

Params = Sequence[Any]

_DIALECT_TYPES = {
    "sqlite": {"real": "REAL", "blob": "BLOB", "bigint": "INTEGER"},
    "postgresql": {"real": "DOUBLE PRECISION", "blob": "BYTEA", "bigint": "BIGINT"},
}

MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "journal, segments, incidents",
        (
            """CREATE TABLE journal (
                seq {bigint} PRIMARY KEY,
                segment {bigint} NOT NULL,
                t {real} NOT NULL,
                kind TEXT NOT NULL,
                source TEXT NOT NULL,
                body TEXT NOT NULL,
                raw {blob},
                hash {blob} NOT NULL
            )""",
            "CREATE INDEX journal_t ON journal (t)",
            "CREATE INDEX journal_segment ON journal (segment, seq)",
            """CREATE TABLE segments (
                segment {bigint} PRIMARY KEY,
                first_seq {bigint} NOT NULL,
                last_seq {bigint} NOT NULL,
                n {bigint} NOT NULL,
                t_min {real},
                t_max {real},
                nbytes {bigint} NOT NULL,
                head_hash {blob} NOT NULL,
                sealed INTEGER NOT NULL DEFAULT 0,
                dropped INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE incidents (
                id {bigint} PRIMARY KEY,
                t_from {real} NOT NULL,
                t_to {real} NOT NULL,
                label TEXT NOT NULL,
                marked_by TEXT NOT NULL,
                marked_t {real} NOT NULL
            )""",
        ),
    ),
    (
        2,
        "index by kind and time for window reads",
        ("CREATE INDEX journal_kind_t ON journal (kind, t)",),
    ),
    (
        3,
        "runtime state snapshots (a restart cache, outside the hash chain)",
        (
            """CREATE TABLE snapshots (
                seq {bigint} PRIMARY KEY,
                t {real} NOT NULL,
                data {blob} NOT NULL
            )""",
        ),
    ),
    (
        4,
        "operator accounts and sensor tokens (hashed), outside the hash chain",
        (
            """CREATE TABLE accounts (
                name TEXT PRIMARY KEY,
                role TEXT NOT NULL,
                password_hash TEXT NOT NULL
            )""",
            """CREATE TABLE sensor_tokens (
                sensor_id TEXT PRIMARY KEY,
                digest {blob} NOT NULL
            )""",
        ),
    ),
    (
        5,
        "login sessions (token digests), for a service whose sessions outlive it",
        (
            """CREATE TABLE sessions (
                digest {blob} PRIMARY KEY,
                user_name TEXT NOT NULL,
                kind TEXT NOT NULL,
                csrf TEXT NOT NULL,
                created_t {real} NOT NULL,
                expires_t {real} NOT NULL
            )""",
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1][0]


@dataclass
class DbUrl:
    """A parsed journal URL."""

    dialect: str
    target: str  # SQLite file path, or the libpq conninfo URL (without our own parameters)
    schema: str | None = None
    options: dict[str, str] = field(default_factory=dict)


_OWN_OPTIONS = ("schema", "segment_records", "segment_span_s", "synchronous")


def parse_url(url: str) -> DbUrl:
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        q = dict(parse_qsl(parts.query))
        own = {k: q.pop(k) for k in list(q) if k in _OWN_OPTIONS}
        target = urlunsplit(parts._replace(query=urlencode(q)))
        return DbUrl("postgresql", target, own.pop("schema", None), own)
    rest = url[len("sqlite:") :] if url.startswith("sqlite:") else url
    if rest.startswith("//"):
        rest = rest[2:]
        rest = "/" + rest.lstrip("/") if rest.startswith("/") else rest
    path, _, query = rest.partition("?")
    if not path:
        raise ValueError(f"no database path in {url!r}")
    return DbUrl("sqlite", path, None, dict(parse_qsl(query)))


class Database:
    """One connection, a lock, and the three operations the journal needs.

    ``write()`` is a transaction; SQLite takes the database write lock up front
    (``BEGIN IMMEDIATE``), PostgreSQL writers call :meth:`lock_writers` first.
    """

    dialect: str

    def __init__(self, u: DbUrl) -> None:
        self.dialect = u.dialect
        self.url = u
        self.lock = threading.RLock()
        self._sq: sqlite3.Connection | None = None
        self._pg: psycopg.Connection[tuple[Any, ...]] | None = None
        if u.dialect == "sqlite":
            Path(u.target).parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(u.target, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            sync = u.options.get("synchronous", "FULL").upper()
            if sync not in ("FULL", "NORMAL", "EXTRA"):
                raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, not {sync!r}")
            con.execute(f"PRAGMA synchronous={sync}")
            con.execute("PRAGMA busy_timeout=10000")
            self._sq = con
        else:
            pg = psycopg.connect(u.target, autocommit=True)
            pg.execute("SET synchronous_commit = on")
            if u.schema:
                if not u.schema.replace("_", "").isalnum():
                    raise ValueError(f"schema name {u.schema!r} must be alphanumeric/underscore")
                pg.execute(f'CREATE SCHEMA IF NOT EXISTS "{u.schema}"')
                pg.execute(f'SET search_path TO "{u.schema}"')
            self._pg = pg

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._pg is not None else sql

    def execute(self, sql: str, params: Params = ()) -> None:
        if self._sq is not None:
            self._sq.execute(sql, tuple(params))
        else:
            assert self._pg is not None
            self._pg.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if self._sq is not None:
            self._sq.executemany(sql, rows)
        else:
            assert self._pg is not None
            with self._pg.cursor() as cur:
                cur.executemany(self._sql(sql), rows)

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        if self._sq is not None:
            return list(self._sq.execute(sql, tuple(params)).fetchall())
        assert self._pg is not None
        with self._pg.cursor() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return [tuple(r) for r in cur.fetchall()]

    @contextmanager
    def write(self) -> Iterator[None]:
        with self.lock:
            if self._sq is not None:
                self._sq.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    self._sq.execute("ROLLBACK")
                    raise
                self._sq.execute("COMMIT")
            else:
                assert self._pg is not None
                with self._pg.transaction():
                    yield

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every query inside sees the database as of its first one.

        What a reader that checks the whole journal needs while a writer appends: the
        segment index and the records then agree (SQLite in WAL mode pins the snapshot at
        the first read of a deferred transaction; PostgreSQL at REPEATABLE READ)."""
        with self.lock:
            if self._sq is not None:
                self._sq.execute("BEGIN DEFERRED")
                try:
                    self._sq.execute("SELECT count(*) FROM segments").fetchall()
                    yield
                finally:
                    self._sq.execute("COMMIT")
            else:
                assert self._pg is not None
                with self._pg.transaction():
                    self._pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    yield

    def close(self) -> None:
        with self.lock:
            if self._sq is not None:
                self._sq.close()
                self._sq = None
            if self._pg is not None:
                self._pg.close()
                self._pg = None

    def lock_writers(self) -> None:
        """Inside ``write()``: serialise journal writers before reading the chain head.

        SQLite's ``BEGIN IMMEDIATE`` already holds the database write lock. On PostgreSQL a
        transaction-level advisory lock (keyed by schema) is taken, so the head is read with
        a snapshot taken after the previous writer committed (a row lock would not see a
        segment row the previous writer inserted).
        """
        if self._pg is not None:
            self._pg.execute("SELECT pg_advisory_xact_lock(73127002, hashtext(current_schema()))")


def schema_version(db: Database) -> int:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER PRIMARY KEY, description TEXT NOT NULL)"
    )
    rows = db.query("SELECT max(version) FROM schema_version")
    return int(rows[0][0] or 0)


def migrate(db: Database, upto: int = LATEST_VERSION) -> int:
    """Apply every migration above the recorded version (up to ``upto``); return the version."""
    types = _DIALECT_TYPES[db.dialect]
    with db.write():
        if db.dialect == "postgresql":
            db.execute("SELECT pg_advisory_xact_lock(73127001)")
        current = schema_version(db)
        for version, description, statements in MIGRATIONS:
            if current < version <= upto:
                for stmt in statements:
                    db.execute(stmt.format(**types))
                db.execute(
                    "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                    (version, description),
                )
                current = version
    return current
