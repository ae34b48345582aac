"""How every cluster process connects to NATS: servers, TLS and credentials, in one value.

A deployment across machines needs more than URLs (issue 24): the servers' CA, a client
certificate when the servers ask for one (``verify: true``), and an identity - a
``.creds`` file (JWT + nkey, decentralised auth), a bare nkey seed file, or a user whose
password comes from the environment (never from a command line, where ``ps`` shows it).
:class:`NatsAccess` carries all of it; :meth:`NatsAccess.options` turns it into the keyword
arguments of ``nats.connect``, so the worker's main connection, its lease keeper's own
connection, central and the edge connect the same way.

Accounts separating sites from central are configured on the servers (``accounts`` with
imports/exports); a process only presents the identity of its account's user.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Any

from skywarden.core.errors import ConfigError

PASSWORD_ENV = "SKYWARDEN_NATS_PASSWORD"


@dataclass(frozen=True)
class NatsAccess:
    """Servers and the means to reach them securely; every path is checked at start."""

    urls: tuple[str, ...]
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    creds_file: str | None = None
    nkey_seed_file: str | None = None
    user: str | None = None

    @staticmethod
    def of(text: str, **kw: Any) -> NatsAccess:
        """From a comma-separated URL list and the optional TLS/credential paths."""
        urls = tuple(u.strip() for u in text.split(",") if u.strip())
        if not urls:
            raise ConfigError("--nats", "no server URL given")
        access = NatsAccess(urls, **{k: v for k, v in kw.items() if v is not None})
        access.check()
        return access

    def check(self) -> None:
        for name in ("ca_file", "cert_file", "key_file", "creds_file", "nkey_seed_file"):
            path = getattr(self, name)
            if path is not None and not os.path.isfile(path):
                flag = "--nats-" + name.removesuffix("_file").removesuffix("_seed").replace(
                    "_", "-"
                )
                raise ConfigError(flag, f"no such file: {path}")
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError("--nats-cert", "--nats-cert and --nats-key go together")
        if sum(x is not None for x in (self.creds_file, self.nkey_seed_file, self.user)) > 1:
            raise ConfigError("--nats-creds", "give one of --nats-creds, --nats-nkey, --nats-user")
        if self.user is not None and not os.environ.get(PASSWORD_ENV):
            raise ConfigError(
                "--nats-user", f"the password goes in ${PASSWORD_ENV}, which is unset"
            )

    @property
    def tls(self) -> ssl.SSLContext | None:
        if self.ca_file is None and self.cert_file is None:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)
        if self.cert_file is not None and self.key_file is not None:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx

    def options(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``nats.connect`` (``extra`` adds reconnect settings)."""
        opts: dict[str, Any] = {"servers": list(self.urls), **extra}
        tls = self.tls
        if tls is not None:
            opts["tls"] = tls
        if self.creds_file is not None:
            opts["user_credentials"] = self.creds_file
        if self.nkey_seed_file is not None:
            opts["nkeys_seed"] = self.nkey_seed_file
        if self.user is not None:
            opts["user"] = self.user
            opts["password"] = os.environ.get(PASSWORD_ENV, "")
        return opts


async def connect(access: NatsAccess, **extra: Any) -> Any:
    """``nats.connect`` with ``access`` (reconnecting forever unless ``extra`` says other)."""
    import nats

    return await nats.connect(**access.options(**{"max_reconnect_attempts": -1, **extra}))
