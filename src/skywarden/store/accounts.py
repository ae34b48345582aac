"""Operator accounts, sensor tokens and (for central) login sessions in the journal's database,
so they survive a restart.

Why here: a restarted ``skywarden run`` used to forget every account and sensor token (they
lived in memory), so every HTTP sensor was refused until an admin issued new tokens. The
journal's database is the one durable store the runtime already has (SQLite or PostgreSQL,
``store.db``), and a fail-over worker opening the same journal sees the same accounts.

What is stored is what the service keeps in memory and nothing more: a user's name, role and
argon2id hash (``service.users``), a sensor's SHA-256 token digest (``service.sessions``). No
clear-text password or token ever reaches a table. These rows are configuration, not
evidence: they live beside the hash chain, not in it (every change to them is journaled as
a ``ConfigChange`` or ``OperatorAction`` by the service's audit trail, which is).

Each change is its own small transaction (an upsert or a delete); admin edits are rare, so
there is nothing to batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from skywarden.store.db import Database


@dataclass(frozen=True)
class AccountRow:
    """One stored account: the role by its name (``service.users.Role`` values)."""

    name: str
    role: str
    password_hash: str


@dataclass(frozen=True)
class SessionRow:
    """One stored login session (``service.sessions.Session`` plus its token's digest)."""

    digest: bytes
    user: str
    kind: str
    csrf: str
    created_t: float
    expires_t: float


class AccountTables:
    """The ``accounts`` and ``sensor_tokens`` tables (migration 4 of ``store.db``) and the
    ``sessions`` table (migration 5: used where sessions must outlive the process, central)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------ accounts

    def users(self) -> list[AccountRow]:
        with self._db.lock:
            rows = self._db.query("SELECT name, role, password_hash FROM accounts ORDER BY name")
        return [AccountRow(str(n), str(r), str(h)) for n, r, h in rows]

    def put_user(self, row: AccountRow) -> None:
        with self._db.write():
            self._db.execute("DELETE FROM accounts WHERE name = ?", (row.name,))
            self._db.execute(
                "INSERT INTO accounts (name, role, password_hash) VALUES (?, ?, ?)",
                (row.name, row.role, row.password_hash),
            )

    def delete_user(self, name: str) -> None:
        with self._db.write():
            self._db.execute("DELETE FROM accounts WHERE name = ?", (name,))

    # ------------------------------------------------------------------ sensor tokens

    def tokens(self) -> dict[str, bytes]:
        """Sensor id -> SHA-256 digest of its token."""
        with self._db.lock:
            rows = self._db.query("SELECT sensor_id, digest FROM sensor_tokens")
        return {str(s): bytes(d) for s, d in rows}

    def put_token(self, sensor_id: str, digest: bytes) -> None:
        with self._db.write():
            self._db.execute("DELETE FROM sensor_tokens WHERE sensor_id = ?", (sensor_id,))
            self._db.execute(
                "INSERT INTO sensor_tokens (sensor_id, digest) VALUES (?, ?)",
                (sensor_id, digest),
            )

    def delete_token(self, sensor_id: str) -> None:
        with self._db.write():
            self._db.execute("DELETE FROM sensor_tokens WHERE sensor_id = ?", (sensor_id,))

    # ------------------------------------------------------------------ sessions

    def sessions(self) -> list[SessionRow]:
        """Every stored session, oldest first (the caller drops expired ones as it meets them)."""
        with self._db.lock:
            rows = self._db.query(
                "SELECT digest, user_name, kind, csrf, created_t, expires_t FROM sessions "
                "ORDER BY created_t"
            )
        return [
            SessionRow(bytes(d), str(u), str(k), str(c), float(a), float(b))
            for d, u, k, c, a, b in rows
        ]

    def put_session(self, row: SessionRow, now: float) -> None:
        """Store ``row``; sessions expired at ``now`` go in the same transaction (bounded table)."""
        with self._db.write():
            self._db.execute("DELETE FROM sessions WHERE expires_t <= ?", (now,))
            self._db.execute(
                "INSERT INTO sessions (digest, user_name, kind, csrf, created_t, expires_t) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (row.digest, row.user, row.kind, row.csrf, row.created_t, row.expires_t),
            )

    def delete_sessions(self, digests: list[bytes]) -> None:
        with self._db.write():
            for d in digests:
                self._db.execute("DELETE FROM sessions WHERE digest = ?", (d,))
