"""Shared by the record tests: a journal URL on SQLite or a fresh PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.postgres import drop_postgres_schema, fresh_postgres_url, postgres_base_url

BACKENDS = ["sqlite", "postgresql"]


def journal_url(
    backend: str, tmp_path: Path, name: str = "journal", segment_records: int | None = None
) -> Iterator[str]:
    """Yield a fresh journal URL for ``backend`` (skip when PostgreSQL is unreachable); the
    PostgreSQL schema is dropped after. ``segment_records``: the journal's segment size."""
    opts = {} if segment_records is None else {"segment_records": segment_records}
    if backend == "postgresql":
        base, why = postgres_base_url()
        if base is None:
            pytest.skip(why or "PostgreSQL unavailable")
        u = fresh_postgres_url(base, **opts)
        yield u
        drop_postgres_schema(u)
    else:
        query = "".join(f"?{k}={v}" for k, v in opts.items())
        yield f"sqlite://{tmp_path}/{name}.sqlite{query}"
