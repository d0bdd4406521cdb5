"""Tables, as SQLAlchemy 2 declarative models. Only the repository uses them.

Times are stored as UTC and returned aware; dates (due dates) are London calendar dates.
Raw messages are stored byte for byte: they are the record if anything is disputed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware in Python, naive UTC in the column: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, the column's text written in one step, as SQLAlchemy's DATETIME
        writes it (always with microseconds): its own formatting, after our conversion,
        was a quarter of the time a statement spent on its parameters (profiling), and a
        message binds some fifteen times."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        to_utc = self.process_bind_param

        def process(value: dt.datetime | None) -> str | None:
            utc = to_utc(value, dialect)
            return None if utc is None else utc.isoformat(" ", "microseconds")
        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime, dt.date: Date, list[str]: JSON}


class CaseRow(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    stage: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16))
    service: Mapped[str | None] = mapped_column(String(64))
    directorate: Mapped[str | None] = mapped_column(String(64))
    ombudsman: Mapped[str | None] = mapped_column(String(16))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime]
    acknowledge_due: Mapped[dt.date | None]
    acknowledged_on: Mapped[dt.date | None]
    response_due: Mapped[dt.date | None]
    # The stage's due date before any extension: performance is measured against it.
    original_due: Mapped[dt.date | None]
    extended_days: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(32))
    responded_at: Mapped[dt.datetime | None]
    on_time: Mapped[bool | None]
    natures: Mapped[list[str]] = mapped_column(default=list)
    adjustments: Mapped[str | None] = mapped_column(Text)
    # The person an MP writes for: copied on the response only where the rules say so.
    constituent_name: Mapped[str | None] = mapped_column(String(200))
    constituent_email: Mapped[str | None] = mapped_column(String(320))
    __table_args__ = (
        Index("ix_cases_status_due", "status", "response_due"),
        Index("ix_cases_service_status", "service", "status"),
    )


class MessageRow(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    mailbox: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[list[str]]
    from_name: Mapped[str] = mapped_column(String(200))
    from_email: Mapped[str] = mapped_column(String(320))
    to: Mapped[list[str]]
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime]
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Hash of the whitespace-normalised body: a re-delivery changes headers, not words.
    body_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]


class AttachmentRow(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))


class EventRow(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(320))
    detail: Mapped[str] = mapped_column(Text)


class OutboxRow(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    template: Mapped[str] = mapped_column(String(40))
    envelope_from: Mapped[str] = mapped_column(String(320))
    # First recipient, lower-cased: what the per-sender acknowledgement limit counts.
    recipient: Mapped[str] = mapped_column(String(320))
    # The VERP tag in our envelope sender: a bounce addressed to it names this item.
    bounce_token: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(default=0)
    next_try: Mapped[dt.datetime]
    # Set while one sender process (claimed_by) holds the item; a crashed sender's claim
    # expires. sending_at: the moment that sender began the SMTP transaction.
    claimed_until: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    sending_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_try"),
                      Index("ix_outbox_recipient_created", "recipient", "created_at"))


class QuarantineRow(Base):
    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(Text)
    size: Mapped[int]
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Set when `quarantine release` re-ingested the bytes successfully; the row stays as a record.
    released_at: Mapped[dt.datetime | None]
    released_as: Mapped[str | None] = mapped_column(Text)


class MailboxStateRow(Base):
    """Where polling of each mailbox stands: for `status` and for UIDVALIDITY changes."""

    __tablename__ = "mailbox_state"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class ChaseRow(Base):
    """A scheduled notice that was queued. The unique key (kind, case, due date, and for
    repeats the day) is what makes a job safe to run twice, or by two processes at once."""

    __tablename__ = "chases"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    due_on: Mapped[dt.date | None]
    sent_on: Mapped[dt.date]
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[dt.datetime]
    __table_args__ = (Index("ix_chases_case_kind_due", "case_id", "kind", "due_on"),)


# The tables themselves, for Core statements where the ORM's overhead shows (intake_rows.py).
ATTACHMENTS: Table = Base.metadata.tables["attachments"]
CASES: Table = Base.metadata.tables["cases"]
EVENTS: Table = Base.metadata.tables["events"]
MESSAGES: Table = Base.metadata.tables["messages"]
OUTBOX: Table = Base.metadata.tables["outbox"]
