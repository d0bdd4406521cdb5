"""Prepared statements store and read exactly what SQLAlchemy's own execution does, on
SQLite and PostgreSQL, and fail the same way."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from mailbot.adapters.db.intake_rows import FEW
from mailbot.adapters.db.orm import CASES, MESSAGES, OUTBOX
from mailbot.adapters.db.prepared import Prepared
from mailbot.adapters.db.repository import SqlStore
from mailbot.domain.model import Address
from mailbot.services.ports import Conflict, OutboundMail, StoreUnavailable

LONDON_SUMMER = dt.timezone(dt.timedelta(hours=1))
CASE = dict(reference="FB-2026-PREP0001", token="t" * 40, kind="complaint", stage=1,
            status="open", service="Housing", directorate=None, ombudsman="housing",
            contact_name="Zoë O’Brien", contact_email="zoe@example.net",
            subject="Damp — again", received_at=dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
            acknowledge_due=dt.date(2026, 3, 31), acknowledged_on=None,
            response_due=dt.date(2026, 4, 28), original_due=dt.date(2026, 4, 28),
            extended_days=0, natures=["repairs", "ключ"])


def message(n: int) -> dict[str, Any]:
    return dict(case_id=None, direction="in", mailbox="feedback", message_id=f"<m{n}@x>",
                in_reply_to=None, references=["<a@x>", "<ß@x>"], from_name="Zoë",
                from_email="zoe@example.net", to=["feedback@council.example"],
                subject="Ünïcode\u2028subject", text="body\twith a tab\r\n",
                at=dt.datetime(2026, 10, 25, 1, 59, 59, 999999, tzinfo=LONDON_SUMMER),
                raw=bytes(range(256)), raw_sha256=f"{n:064d}", body_sha256="b" * 64,
                size=256)


@pytest.fixture
def connection(database_url: str) -> Iterator[Connection]:
    store = SqlStore(database_url)
    try:
        with store.engine.connect() as connection, connection.begin():
            yield connection
    finally:
        store.close()


def stored(connection: Connection, table: str, pk: int) -> tuple[Any, ...]:
    """The row as the driver reads it back, id left out: what is in the database."""
    row = connection.exec_driver_sql(f"SELECT * FROM {table} WHERE id = {int(pk)}").one()
    return tuple(row)[1:]


def test_an_insert_stores_what_sqlalchemy_stores(connection: Connection) -> None:
    cases = insert(CASES).returning(CASES.c.id)
    [(prepared_case,)] = Prepared(cases, CASE).rows(connection, CASE)
    theirs = {**CASE, "reference": "FB-2026-PREP0002", "token": "u" * 40}
    their_case = connection.execute(cases, theirs).scalar_one()
    assert stored(connection, "cases", prepared_case)[2:] == \
        stored(connection, "cases", their_case)[2:]

    messages = insert(MESSAGES).returning(MESSAGES.c.id)
    [(prepared_message,)] = Prepared(messages, message(1)).rows(connection, message(1))
    their_message = connection.execute(messages, message(2)).scalar_one()
    ours, their = (stored(connection, "messages", pk)
                   for pk in (prepared_message, their_message))
    assert [a for a, b in zip(ours, their, strict=True) if a != b] == [
        "<m1@x>", f"{1:064d}"]  # only what the two rows were given differently


def test_reads_and_counts_are_sqlalchemys(connection: Connection) -> None:
    for n in range(3):
        connection.execute(insert(MESSAGES), message(n))
    query = select(MESSAGES.c.id, MESSAGES.c.at, MESSAGES.c.to, MESSAGES.c.raw,
                   (MESSAGES.c.direction == "in").label("inbound")
                   ).where(MESSAGES.c.size >= bindparam("size")).order_by(MESSAGES.c.id)
    assert Prepared(query).rows(connection, {"size": 1}) == \
        [tuple(r) for r in connection.execute(query, {"size": 1})]
    assert Prepared(query).rows(connection, {"size": 1})[0][1].tzinfo == dt.UTC
    renamed = update(MESSAGES).where(MESSAGES.c.size == bindparam("size"),
                                     MESSAGES.c.direction == "in").values(mailbox="spoc")
    assert Prepared(renamed).count(connection, {"size": 256}) == 3
    assert Prepared(renamed).count(connection, {"size": 7}) == 0


def test_a_driver_error_is_sqlalchemys_and_a_conflict_for_the_store(database_url: str) -> None:
    add = Prepared(insert(CASES).returning(CASES.c.id), CASE)
    store = SqlStore(database_url)
    try:
        with store.engine.begin() as connection:
            add.rows(connection, CASE)
        with pytest.raises(IntegrityError), store.engine.begin() as connection:
            add.rows(connection, CASE)
        with pytest.raises(Conflict), store.transaction() as tx:
            add.rows(tx.connection, CASE)
        with store.transaction() as tx:  # the failed ones left the pool's connections usable
            assert tx.reference_taken(CASE["reference"])
    finally:
        store.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_what_a_prepared_statement_cannot_do_is_refused_by_name(
        connection: Connection) -> None:
    without_defaults = {k: v for k, v in CASE.items() if k not in ("extended_days", "natures")}
    with pytest.raises(ValueError, match="extended_days, natures"):
        Prepared(insert(CASES), without_defaults).many(connection, [without_defaults])
    with pytest.raises(ValueError, match="IN list"):
        Prepared(select(CASES.c.id).where(CASES.c.id.in_(bindparam("ids", expanding=True)))
                 ).rows(connection, {"ids": [1]})


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_lost_connection_is_invalidated_and_the_next_transaction_works(
        database_url: str) -> None:
    """The server ends the session under a prepared statement (as a restart would)."""
    store = SqlStore(database_url)
    try:
        with pytest.raises(StoreUnavailable), store.transaction() as tx:
            pid = tx.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with store.engine.connect() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            tx.reference_taken("FB-2026-GONE0001")
        with store.transaction() as tx:
            assert not tx.reference_taken("FB-2026-GONE0001")
    finally:
        store.close()


def outbound(n: int) -> OutboundMail:
    raw = f"Message-ID: <q{n}@council.example>\r\n\r\nmail {n}\r\n".encode()
    return OutboundMail("reminder", f"<q{n}@council.example>", None,
                        Address("Feedback", "feedback@council.example"),
                        "bounces@council.example", (f"Officer{n}@Council.example",),
                        f"mail {n}", f"mail {n}", raw, hashlib.sha256(raw).hexdigest(),
                        f"b{n:039d}")


@pytest.mark.parametrize("count", [1, FEW, FEW + 1, 40])
def test_queued_mail_is_stored_in_order_one_by_one_or_in_batches(database_url: str,
                                                                 count: int) -> None:
    """A message's few go by prepared inserts, a scheduled run's many in batches: the same
    rows either way, each outbox item with its own message."""
    store = SqlStore(database_url)
    try:
        at = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
        with store.transaction() as tx:
            items = tx.queue_many([(None, outbound(n)) for n in range(count)], at)
        with store.engine.connect() as connection:
            rows = connection.execute(
                select(OUTBOX.c.id, OUTBOX.c.recipient, OUTBOX.c.status, MESSAGES.c.message_id,
                       MESSAGES.c.raw, MESSAGES.c.at)
                .join(MESSAGES, OUTBOX.c.message_pk == MESSAGES.c.id).order_by(OUTBOX.c.id)
            ).all()
    finally:
        store.close()
    assert [r.id for r in rows] == items
    assert [(r.recipient, r.status, r.message_id, r.raw, r.at) for r in rows] == [
        (f"officer{n}@council.example", "queued", f"<q{n}@council.example>",
         outbound(n).raw, at) for n in range(count)]
