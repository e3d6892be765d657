"""PostgreSQL for the store tests: the local server's ``test`` database, unique schemas per test."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

PG_URL = os.environ.get("ZHIZAO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@functools.cache
def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used (None when it can)."""
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {str(exc).strip()}"


def require_pg() -> None:
    reason = pg_unavailable()
    if reason:
        pytest.skip(reason)


def admin() -> psycopg.Connection:
    return psycopg.connect(PG_URL, autocommit=True)


@contextmanager
def schema_prefix() -> Iterator[str]:
    """A unique schema-name prefix; every schema starting with it is dropped afterwards."""
    require_pg()
    prefix = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        with admin() as conn:
            for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                                        (prefix,)).fetchall():
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def historian_url(schema: str, url: str = PG_URL) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"
