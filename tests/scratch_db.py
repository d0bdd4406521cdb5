"""Scratch PostgreSQL databases for tests and benchmarks: made fresh, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def scratch_postgres(admin_url: str, prefix: str = "mailbot_test") -> Iterator[str]:
    """The URL of a new database beside `admin_url`'s. Dropped WITH (FORCE), which ends
    any connection left in it, autovacuum's included: the role needs pg_signal_backend
    for that (scripts/test.sh grants it)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
