"""Named locks shared by every mailbot process on one database, held while work is done.

Several `mailbot run` processes (on one host or several) may share a database. Each
mailbox is read by one of them at a time, and one runs the scheduled jobs, so they do not
race for the same messages and notices. (Exactly-once does not rest on these locks:
intake is idempotent, and outbox claims and notice keys are conditional writes. The
locks keep the processes out of each other's way.)

PostgreSQL: a session advisory lock on a connection of its own, outside the pool, so a
lock held for hours never starves the pool; if that connection dies, the lock is gone and
`held()` says so. SQLite: an flock on a file beside the database, released by the kernel
when the process dies. An in-memory database is one process: a threading lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from mailbot.adapters.db.engine import connect_args
from mailbot.services.ports import Lease


def lock_key(name: str) -> int:
    """A stable signed 64-bit key per name, the same in every process and release."""
    digest = hashlib.sha256(f"mailbot:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class _AdvisoryLease:
    def __init__(self, connection: Connection, key: int) -> None:
        self.connection = connection
        self.key = key

    def held(self) -> bool:
        try:
            self.connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def release(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        with contextlib.suppress(Exception):
            self.connection.close()


class _FileLease:
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle

    def held(self) -> bool:
        return not self.handle.closed

    def release(self) -> None:
        if not self.handle.closed:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()


class _ThreadLease:
    def __init__(self, lock: threading.Lock) -> None:
        self.lock: threading.Lock | None = lock

    def held(self) -> bool:
        return self.lock is not None

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


_IN_MEMORY: dict[tuple[str, str], threading.Lock] = {}
_IN_MEMORY_GUARD = threading.Lock()


class Locks:
    def __init__(self, engine: Engine) -> None:
        self.url = engine.url
        self.dialect = engine.dialect.name
        self._engine = create_engine(
            engine.url, poolclass=NullPool, hide_parameters=True,
            connect_args=connect_args(engine.url.render_as_string(hide_password=False))) \
            if self.dialect == "postgresql" else None

    def try_acquire(self, name: str) -> Lease | None:
        """The lock if it is free now, else None; never waits."""
        if self._engine is not None:
            return self._advisory(name)
        database = self.url.database
        if database and database != ":memory:":
            return self._file(Path(database), name)
        with _IN_MEMORY_GUARD:
            lock = _IN_MEMORY.setdefault((str(self.url), name), threading.Lock())
        return _ThreadLease(lock) if lock.acquire(blocking=False) else None

    def _advisory(self, name: str) -> Lease | None:
        assert self._engine is not None
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        key = lock_key(name)
        try:
            if connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
                return _AdvisoryLease(connection, key)
        except Exception:
            connection.close()
            raise
        connection.close()
        return None

    @staticmethod
    def _file(database: Path, name: str) -> Lease | None:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        # Read-only is enough for flock, so a lock file that root made by running a command
        # by hand still serves the mailbot user.
        path = database.parent / f"{database.name}.{safe}.lock"
        handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o660), "rb")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return _FileLease(handle)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
