"""Login sessions (browser cookie + CSRF token) and bearer tokens for API clients; sensor tokens.

Every secret is 256 random bits from ``secrets`` and is stored only as its SHA-256 digest: a
memory or log dump of the store reveals no usable token. (A slow hash is for low-entropy
passwords; a random 256-bit token needs none.) Comparisons use ``hmac.compare_digest``.

A session names its user, not a role: the role is looked up on every request, so demoting or
removing a user takes effect at once. Sessions expire ``ttl_s`` after login (one shift); the
store is bounded (oldest dropped first) so a login flood cannot grow memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from skywarden.store.accounts import AccountTables, SessionRow

Kind = Literal["cookie", "bearer"]


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class Session:
    user: str
    kind: Kind
    csrf: str
    created_t: float
    expires_t: float


class SessionStore:
    """Open sessions by token digest. With ``tables`` (``store.accounts``) they are persisted
    (loaded now, written through on open and close), so a token issued before a restart or a
    fail-over to another process on the same database is still accepted, and one closed
    (logout, user removed or given a new password) stays refused. Only digests are stored."""

    def __init__(
        self,
        ttl_s: float = 12 * 3600.0,
        max_sessions: int = 10_000,
        tables: AccountTables | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._tables = tables
        self._by_digest: OrderedDict[bytes, Session] = OrderedDict()
        for r in tables.sessions() if tables is not None else ():
            kind: Kind = "cookie" if r.kind == "cookie" else "bearer"
            self._by_digest[r.digest] = Session(r.user, kind, r.csrf, r.created_t, r.expires_t)

    def __len__(self) -> int:
        return len(self._by_digest)

    def open(self, user: str, kind: Kind, now: float) -> tuple[str, Session]:
        token = new_secret("sws_" if kind == "cookie" else "swb_")
        s = Session(user, kind, new_secret(), now, now + self.ttl_s)
        key = digest(token)
        if self._tables is not None:  # stored before the token is handed out
            row = SessionRow(key, user, kind, s.csrf, s.created_t, s.expires_t)
            self._tables.put_session(row, now)
        self._by_digest[key] = s
        dropped = []
        while len(self._by_digest) > self.max_sessions:
            dropped.append(self._by_digest.popitem(last=False)[0])
        self._forget(dropped)
        return token, s

    def get(self, token: str, now: float) -> Session | None:
        key = digest(token)
        s = self._by_digest.get(key)
        if s is None:
            return None
        if now >= s.expires_t:
            del self._by_digest[key]
            self._forget([key])
            return None
        return s

    def close(self, token: str) -> bool:
        key = digest(token)
        if self._by_digest.pop(key, None) is None:
            return False
        self._forget([key])
        return True

    def close_user(self, user: str) -> int:
        gone = [k for k, s in self._by_digest.items() if s.user == user]
        for k in gone:
            del self._by_digest[k]
        self._forget(gone)
        return len(gone)

    def _forget(self, digests: list[bytes]) -> None:
        if digests and self._tables is not None:
            self._tables.delete_sessions(digests)


def csrf_ok(session: Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf, presented)


class SensorTokens:
    """One secret per sensor id: sensors prove who they are when they post detections.

    With ``tables`` (``store.accounts``) the digests are persisted: loaded now, written
    through on issue and revoke, so a sensor's token outlives a restart of the service.
    Tokens ``set`` with ``persist=False`` (from the environment) are held in memory only:
    the environment provides them again at every start, and removing one there removes it.
    """

    def __init__(self, tables: AccountTables | None = None) -> None:
        self._tables = tables
        self._digests: dict[str, bytes] = dict(tables.tokens()) if tables is not None else {}

    def __contains__(self, sensor_id: object) -> bool:
        return sensor_id in self._digests

    def issue(self, sensor_id: str) -> str:
        """A new token for ``sensor_id`` (replacing any previous one); shown to the admin once."""
        token = new_secret("swt_")
        self._put(sensor_id, digest(token), persist=True)
        return token

    def set(self, sensor_id: str, token: str, persist: bool = True) -> None:
        """Register a token chosen elsewhere (site configuration, the runtime's secrets)."""
        if len(token) < 16:
            raise ValueError("a sensor token must be at least 16 characters")
        self._put(sensor_id, digest(token), persist)

    def revoke(self, sensor_id: str) -> bool:
        if sensor_id not in self._digests:
            return False
        if self._tables is not None:
            self._tables.delete_token(sensor_id)
        del self._digests[sensor_id]
        return True

    def _put(self, sensor_id: str, d: bytes, persist: bool) -> None:
        if persist and self._tables is not None:
            self._tables.put_token(sensor_id, d)
        self._digests[sensor_id] = d

    def verify(self, sensor_id: str, token: str | None) -> bool:
        want = self._digests.get(sensor_id)
        if want is None or not token:
            return False
        return hmac.compare_digest(want, digest(token))

    def registered(self) -> list[str]:
        return sorted(self._digests)
