"""Engines for SQLite and PostgreSQL, configured the way mailbot needs them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError

CONNECT_TIMEOUT = 10  # seconds


class BadDatabaseUrl(ValueError):
    """The configured URL is not one SQLAlchemy can use."""


def connect_args(url: str) -> dict[str, Any]:
    return {"connect_timeout": CONNECT_TIMEOUT} if url.startswith("postgresql") else {}


def make_engine(url: str) -> Engine:
    """SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE; PostgreSQL is used
    as it comes.

    BEGIN IMMEDIATE takes SQLite's write lock when a transaction starts, so two processes
    queue for it (up to the busy timeout) instead of one failing when it tries to write
    on a snapshot the other has just made stale.
    """
    try:
        # hide_parameters: an error message never quotes a resident's data back to a log.
        # connect_timeout: an unreachable PostgreSQL fails within seconds, not minutes.
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"),
                               hide_parameters=True,
                               connect_args=connect_args(url))
    except (ArgumentError, ImportError) as exc:
        raise BadDatabaseUrl(f"not a usable database URL: {exc}") from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
