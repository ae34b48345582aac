"""Helpers for tests that run the journal on both backends (no pytest import here).

``postgres_base_url()`` finds the loopback PostgreSQL the tests use (trust auth, database
``test``, user ``postgres`` or ``root``), trying once to start the Debian cluster when it is
down, and returns ``(url, None)`` or ``(None, reason)`` so a test can skip with the reason.
``fresh_postgres_url`` adds a unique schema for isolation; ``drop_postgres_schema`` removes it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import psycopg

_cache: tuple[str | None, str | None] | None = None


def _try(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as c:
            c.execute("SELECT 1")
        return None
    except psycopg.Error as e:
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def postgres_base_url() -> tuple[str | None, str | None]:
    """(url, None) for a reachable test PostgreSQL, else (None, why not)."""
    global _cache
    if _cache is not None:
        return _cache
    env = os.environ.get("SKYWARDEN_TEST_PG")
    candidates = [env] if env else []
    candidates += [f"postgresql://{u}@127.0.0.1:5432/test" for u in ("postgres", "root")]
    errors: list[str] = []
    for attempt in range(2):
        for url in candidates:
            err = _try(url)
            if err is None:
                _cache = (url, None)
                return _cache
            errors.append(f"{url}: {err}")
        if attempt == 0 and not _start_cluster(errors):
            break
    _cache = (None, "PostgreSQL on 127.0.0.1:5432 not reachable: " + "; ".join(errors[-2:]))
    return _cache


def _start_cluster(errors: list[str]) -> bool:
    tool = shutil.which("pg_ctlcluster")
    conf = Path("/etc/postgresql")
    if tool is None or not conf.is_dir():
        errors.append("pg_ctlcluster not available")
        return False
    for version in sorted(p.name for p in conf.iterdir()):
        r = subprocess.run(
            [tool, "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if r.returncode != 0:
            errors.append(f"pg_ctlcluster {version} main start: {r.stderr.strip()[:200]}")
    return True


def fresh_postgres_url(base: str, **options: str | int | float) -> str:
    """``base`` plus a new unique ``schema`` (and any journal options)."""
    schema = "sw_test_" + uuid.uuid4().hex[:12]
    extra = "&".join(f"{k}={v}" for k, v in {"schema": schema, **options}.items())
    return base + ("&" if "?" in base else "?") + extra


def drop_postgres_schema(url: str) -> None:
    parts = urlsplit(url)
    q = dict(parse_qsl(parts.query))
    schema = q.pop("schema", None)
    if not schema:
        return
    base = parts._replace(query="").geturl()
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
