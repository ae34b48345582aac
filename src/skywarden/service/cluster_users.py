"""Central's user administration: ``GET/POST /api/cluster/users``, ``DELETE
/api/cluster/users/{name}`` (admin role).

Why central needs its own: central faces other machines and serves no anonymous client, so
every operator who acknowledges an alert through it needs an account there, and until now
central's only account was the first admin. The routes do what the site service's
``/api/users`` routes do (``service.auth_api``), on central's :class:`Security`: an added
user is hashed with argon2id, a removed one loses its open sessions at once, the last admin
cannot be removed, and each change is an audit record. With ``skywarden central --journal``
the accounts are written through to the journal's database (``store.accounts``), so they
outlive a restart of central and are the same for a central started on that database after
a fail-over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from skywarden.core.clock import Clock
from skywarden.service.admin_schemas import UserIn, UserOut
from skywarden.service.auth import Principal, Security
from skywarden.service.users import Role, User, UserError
from skywarden.store.records import ConfigChange


def _out(u: User) -> UserOut:
    return UserOut(name=u.name, role=u.role.value)


def users_router(sec: Security, clock: Clock, admin: Callable[..., Any]) -> APIRouter:
    """``admin``: the dependency that admits an admin (``cluster_api._viewer(.., ADMIN)``)."""
    r = APIRouter(prefix="/api/cluster/users", tags=["cluster"])
    errors: dict[int | str, dict[str, Any]] = {
        404: {"description": "no such user"},
        409: {"description": "duplicate, or the last admin"},
    }

    @r.get("", response_model=list[UserOut])
    def list_users(_: Principal | None = Depends(admin)) -> list[UserOut]:  # noqa: B008
        return [_out(u) for u in sec.users]

    @r.post("", status_code=201, response_model=UserOut, responses=errors)
    async def add_user(
        body: UserIn,
        p: Principal | None = Depends(admin),  # noqa: B008 (a closure: not resolvable by name)
    ) -> UserOut:
        try:
            u = await asyncio.to_thread(sec.users.add, body.name, body.password, Role(body.role))
        except UserError as e:
            raise HTTPException(409, str(e)) from None
        who = p.name if p is not None else "anonymous"
        sec.audit.record(ConfigChange(clock.now(), who, f"users.{u.name}", None, u.role.value))
        return _out(u)

    @r.delete("/{name}", status_code=204, responses=errors)
    async def remove_user(
        name: str,
        p: Principal | None = Depends(admin),  # noqa: B008 (as above)
    ) -> None:
        try:
            u = sec.users.remove(name)
        except KeyError:
            raise HTTPException(404, f"no user {name}") from None
        except UserError as e:
            raise HTTPException(409, str(e)) from None
        sec.sessions.close_user(name)
        who = p.name if p is not None else "anonymous"
        sec.audit.record(ConfigChange(clock.now(), who, f"users.{name}", u.role.value, None))

    return r
