"""Engines for SQLite and PostgreSQL, configured the way mailbot needs them."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError

CONNECT_TIMEOUT = 10  # seconds

log = logging.getLogger(__name__)


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
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # see Checkpointer
            cursor.close()
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # On the driver itself: every transaction begins here, and through SQLAlchemy's
            # execution machinery the BEGIN cost as much as a statement (some 50 µs).
            connection.connection.driver_connection.execute("BEGIN IMMEDIATE")

    return engine


class Checkpointer:
    """Copies SQLite's write-ahead log back into the database, from a thread of its own.

    Left to SQLite, the commit that takes the log past 1,000 pages does it, with two
    fsyncs, inside a transaction that someone is waiting for: profiling showed it as half
    a millisecond of every message's commit on this disk. Here it runs beside the work
    (the fsyncs release the interpreter lock), and the connections' own automatic
    checkpoints are off. A PASSIVE checkpoint never waits for writers, so under a steady
    stream of them the log would only grow; once it passes LOG_LIMIT pages (16 MB; a
    backlog writes some 30 pages a message), a RESTART checkpoint waits for the
    transaction in hand and lets the next one start the log afresh. The last connection
    to close checkpoints what is left and removes the log, as before.
    """

    INTERVAL = 0.25
    LOG_LIMIT = 4000

    def __init__(self, engine: Engine) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(engine, self._stop),
                                        name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    @classmethod
    def _run(cls, engine: Engine, stop: threading.Event) -> None:
        while not stop.wait(cls.INTERVAL):
            try:
                cls._checkpoint(engine)
            except Exception as error:  # the next round tries again
                log.warning("SQLite checkpoint: %s: %s", type(error).__name__, error)

    @classmethod
    def _checkpoint(cls, engine: Engine) -> None:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            _, pages, _ = cursor.fetchone() or (0, 0, 0)
            if pages > cls.LOG_LIMIT:
                cursor.execute("PRAGMA wal_checkpoint(RESTART)")
            cursor.close()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.stop()
        self._thread.join()
