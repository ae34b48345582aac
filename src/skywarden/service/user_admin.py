"""Adding and removing a user, as both user APIs do it (the site's ``/api/users`` in
``service.auth_api``, central's ``/api/cluster/users`` in ``service.cluster_users``).

Why one module: the rules are the security of every account and must not differ between the
two: the password is hashed (argon2id, slow on purpose) in a worker thread so the loop never
stalls; a duplicate or the last admin is a 409, an unknown user a 404; a removed user loses
its open sessions at once; every change is an audit record (``ConfigChange`` of
``users.<name>``: role before and after, stamped when the change is done).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import HTTPException

from skywarden.core.clock import Clock
from skywarden.service.admin_schemas import UserIn, UserOut
from skywarden.service.auth import Security
from skywarden.service.users import Role, User, UserError
from skywarden.store.records import ConfigChange

USER_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such user"},
    409: {"description": "duplicate, or the last admin"},
}


def user_out(u: User) -> UserOut:
    return UserOut(name=u.name, role=u.role.value)


async def add_user(sec: Security, clock: Clock, body: UserIn, who: str) -> UserOut:
    """Add the user ``body`` on behalf of ``who`` (audited)."""
    try:
        u = await asyncio.to_thread(sec.users.add, body.name, body.password, Role(body.role))
    except UserError as e:
        raise HTTPException(409, str(e)) from None
    sec.audit.record(ConfigChange(clock.now(), who, f"users.{u.name}", None, u.role.value))
    return user_out(u)


def remove_user(sec: Security, clock: Clock, name: str, who: str) -> None:
    """Remove the user ``name`` on behalf of ``who`` and close its sessions (audited)."""
    try:
        u = sec.users.remove(name)
    except KeyError:
        raise HTTPException(404, f"no user {name}") from None
    except UserError as e:
        raise HTTPException(409, str(e)) from None
    sec.sessions.close_user(name)
    sec.audit.record(ConfigChange(clock.now(), who, f"users.{name}", u.role.value, None))
