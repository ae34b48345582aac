"""Operator accounts: names, roles and argon2id password hashes (argon2-cffi).

Held in memory for the checks on every request; with ``tables`` (``store.accounts``, the
journal's database) every change is also written through, and the store starts from what was
written, so accounts survive a restart of the service.

Why argon2id: it is the current OWASP recommendation for password storage; argon2-cffi is the
maintained binding and encodes salt and parameters in the hash string, so parameters can be
raised later (``check_needs_rehash``) without a migration.

Roles are ordered: a ``viewer`` watches the picture; an ``operator`` may also acknowledge and
resolve alerts; an ``admin`` may also edit zones, the whitelist, sensors (tokens) and users.
The store never holds a clear-text password, and an unknown name costs the same hash as a
known one (no user enumeration by timing).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from skywarden.store.accounts import AccountRow, AccountTables

NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 10


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


class UserError(ValueError):
    """A refused account change (bad name, weak password, duplicate, last admin)."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str


class UserStore:
    """Accounts by name. ``hasher`` is injectable so tests can use cheap argon2 parameters;
    ``tables`` persists them (loaded now, written through on every change)."""

    def __init__(
        self, hasher: PasswordHasher | None = None, tables: AccountTables | None = None
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self._tables = tables
        self._users: dict[str, User] = {}
        self._dummy: str | None = None  # hashed on first need (start-up stays fast)
        for row in tables.users() if tables is not None else ():
            try:
                role = Role(row.role)
            except ValueError:
                msg = f"stored account {row.name!r} has an unknown role {row.role!r}"
                raise UserError(msg) from None
            self._users[row.name] = User(row.name, role, row.password_hash)

    def __len__(self) -> int:
        return len(self._users)

    def __iter__(self) -> Iterator[User]:
        return iter(sorted(self._users.values(), key=lambda u: u.name))

    def get(self, name: str) -> User | None:
        return self._users.get(name)

    def add(self, name: str, password: str, role: Role) -> User:
        if not NAME_RE.match(name):
            raise UserError("name must be 1-64 letters, digits or _ . @ -")
        if name in self._users:
            raise UserError(f"user {name!r} exists")
        user = User(name, role, self._hash(password))
        self._put(user)
        return user

    def set_password(self, name: str, password: str) -> User:
        user = self._require(name)
        new = replace(user, password_hash=self._hash(password))
        self._put(new)
        return new

    def set_role(self, name: str, role: Role) -> User:
        user = self._require(name)
        if user.role is Role.ADMIN and role is not Role.ADMIN:
            self._keep_an_admin(name)
        new = replace(user, role=role)
        self._put(new)
        return new

    def remove(self, name: str) -> User:
        user = self._require(name)
        if user.role is Role.ADMIN:
            self._keep_an_admin(name)
        if self._tables is not None:
            self._tables.delete_user(name)
        del self._users[name]
        return user

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password matches, else None (same work for unknown names)."""
        user = self._users.get(name)
        if user is None and self._dummy is None:
            self._dummy = self._hasher.hash("not a password: equalises unknown-user timing")
        try:
            self._hasher.verify(user.password_hash if user else self._dummy or "", password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        if self._hasher.check_needs_rehash(user.password_hash):
            user = replace(user, password_hash=self._hasher.hash(password))
            self._put(user)
        return user

    def _put(self, user: User) -> None:
        """Write through first: a change the database refused is not made in memory either."""
        if self._tables is not None:
            self._tables.put_user(AccountRow(user.name, user.role.value, user.password_hash))
        self._users[user.name] = user

    def _hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise UserError(f"password must be at least {MIN_PASSWORD} characters")
        if len(password) > 1024:
            raise UserError("password must be at most 1024 characters")
        return self._hasher.hash(password)

    def _require(self, name: str) -> User:
        user = self._users.get(name)
        if user is None:
            raise KeyError(name)
        return user

    def _keep_an_admin(self, name: str) -> None:
        if not any(u.role is Role.ADMIN for u in self._users.values() if u.name != name):
            raise UserError("the last admin cannot be removed or demoted")
