"""What every part of the transaction object stands on: one connection in one
transaction, and an ORM Session on that connection only for the queries that want one.

The hot paths (filing a message, sending one) are Core statements; through a Session
each cost half as much again as on the connection (profiling: some 50 µs a statement,
and as much to open the Session), so they run on the connection (prepared.py) and a
transaction that never asks for the Session never makes one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, CursorResult, Executable
from sqlalchemy.orm import Session


class Rows:
    connection: Connection
    _session: Session | None = None

    @property
    def session(self) -> Session:
        """Joined to the connection's transaction: it never commits; `finish` flushes."""
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False)
        return self._session

    def ready(self) -> Connection:
        """The connection, after whatever the Session holds is written (as the Session's
        own autoflush would have it), so a statement on it sees every change made before."""
        if self._session is not None:
            self._session.flush()
        return self.connection

    def execute(self, statement: Executable, params: Any = None) -> CursorResult[Any]:
        """A Core statement on the connection (for the hot ones, see prepared.py)."""
        return self.ready().execute(statement, params)

    def finish(self) -> None:
        """The Session's pending changes, written before the transaction commits."""
        if self._session is not None:
            self._session.flush()
            self._session.close()
