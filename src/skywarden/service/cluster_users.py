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

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends

from skywarden.core.clock import Clock
from skywarden.service import user_admin
from skywarden.service.admin_schemas import UserIn, UserOut
from skywarden.service.auth import Principal, Security, name_of
from skywarden.service.user_admin import USER_ERRORS, user_out


def users_router(sec: Security, clock: Clock, admin: Callable[..., Any]) -> APIRouter:
    """``admin``: the dependency that admits an admin (``cluster_api._viewer(.., ADMIN)``)."""
    r = APIRouter(prefix="/api/cluster/users", tags=["cluster"])

    @r.get("", response_model=list[UserOut])
    def list_users(_: Principal | None = Depends(admin)) -> list[UserOut]:  # noqa: B008
        return [user_out(u) for u in sec.users]

    @r.post("", status_code=201, response_model=UserOut, responses=USER_ERRORS)
    async def add_user(
        body: UserIn,
        p: Principal | None = Depends(admin),  # noqa: B008 (a closure: not resolvable by name)
    ) -> UserOut:
        return await user_admin.add_user(sec, clock, body, name_of(p))

    @r.delete("/{name}", status_code=204, responses=USER_ERRORS)
    async def remove_user(
        name: str,
        p: Principal | None = Depends(admin),  # noqa: B008 (as above)
    ) -> None:
        user_admin.remove_user(sec, clock, name, name_of(p))

    return r
