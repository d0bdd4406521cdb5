"""The hot statements, compiled once per database and run on the driver's own cursor.

Filing a message and sending one take a dozen statements, and for each SQLAlchemy's
execution machinery (an execution context, parameter and result processing, a result
object) cost 25-50 µs where SQLite itself took 2-10 µs (measured on this VM). So these few
statements are still built with Core, which writes each dialect's SQL, but are compiled
once per dialect and run on the DBAPI cursor of the transaction's connection: the same
transaction, the same type processors on parameters and results, and driver errors
raised as SQLAlchemy's, so callers and the store's error handling see no difference.

Only what these statements need is supported: named parameters, every column an INSERT
fills given by the caller (no Python-side defaults), no expanding IN lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Params = Mapping[str, Any]
Processor = Callable[[Any], Any] | None


def _processing(processors: Iterable[Processor]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """Only the positions that have a processor (most columns have none)."""
    return tuple((i, p) for i, p in enumerate(processors) if p is not None)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    processing: tuple[tuple[int, Callable[[Any], Any]], ...]
    constants: dict[str, Any]  # values written into the statement itself (status == "queued")
    positional: bool
    results: tuple[tuple[int, Callable[[Any], Any]], ...]

    def bind(self, params: Params) -> Sequence[Any] | dict[str, Any]:
        given = {**self.constants, **params} if self.constants else params
        values = [given[n] for n in self.names]
        for i, process in self.processing:
            values[i] = process(values[i])
        return values if self.positional else dict(zip(self.names, values, strict=True))

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if not self.results:
            return tuple(raw)
        values = list(raw)
        for i, process in self.results:
            values[i] = process(values[i])
        return tuple(values)


class Prepared:
    """One Core statement; `keys` are the columns an INSERT is given (all it fills)."""

    def __init__(self, statement: ClauseElement, keys: Iterable[str] | None = None) -> None:
        self.statement = statement
        self.keys = list(keys) if keys is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, column_keys=self.keys)
        assert isinstance(compiled, SQLCompiler)
        defaulted = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if defaulted:
            raise ValueError(f"a prepared statement must be given {', '.join(defaulted)}")
        binds = compiled.binds
        if any(b.expanding for b in binds.values()):
            raise ValueError("a prepared statement cannot expand an IN list")
        names = tuple(compiled.positiontup or ()) if dialect.positional else tuple(binds)
        columns = getattr(self.statement, "exported_columns", ())  # none: a text statement
        return _Compiled(
            sql=compiled.string, names=names,
            processing=_processing(binds[n].type.dialect_impl(dialect).bind_processor(dialect)
                                   for n in names),
            constants={n: b.effective_value for n, b in binds.items() if not b.required},
            positional=dialect.positional,
            results=_processing(c.type.dialect_impl(dialect).result_processor(dialect, None)
                                for c in columns))

    def rows(self, connection: Connection, params: Params) -> list[tuple[Any, ...]]:
        """Every row the statement returns (a SELECT, or RETURNING)."""
        compiled = self._compiled(connection.dialect)
        cursor = _run(connection, compiled, lambda c: c.execute(compiled.sql,
                                                                 compiled.bind(params)))
        return [compiled.row(r) for r in cursor.fetchall()]

    def count(self, connection: Connection, params: Params) -> int:
        """The rows an UPDATE or DELETE changed."""
        compiled = self._compiled(connection.dialect)
        cursor = _run(connection, compiled, lambda c: c.execute(compiled.sql,
                                                                 compiled.bind(params)))
        return int(cursor.rowcount)

    def many(self, connection: Connection, params: Sequence[Params]) -> None:
        """One INSERT for many rows (nothing returned)."""
        compiled = self._compiled(connection.dialect)
        _run(connection, compiled, lambda c: c.executemany(
            compiled.sql, [compiled.bind(p) for p in params]))


def _run(connection: Connection, compiled: _Compiled, call: Callable[[Any], Any]) -> Any:
    """On the transaction's driver connection; a driver error becomes SQLAlchemy's (and a
    lost connection is invalidated), as SQLAlchemy's own execution would have it."""
    dialect = connection.dialect
    driver = connection.connection
    cursor = driver.cursor()
    try:
        call(cursor)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, driver.dbapi_connection, cursor)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(compiled.sql, None, error, dialect.loaded_dbapi.Error,
                                  hide_parameters=True, connection_invalidated=lost,
                                  dialect=dialect) from error
    return cursor
