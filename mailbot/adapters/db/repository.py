"""The write side of the database: one transaction object per unit of work.

Services use `SqlTransaction` for everything they read to decide and everything they
write; `SqlStore` adds the read model (read_model.py) for the CLI and reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.adapters.db.chase_rows import ChaseRows
from mailbot.adapters.db.engine import make_engine
from mailbot.adapters.db.migrate import migrate
from mailbot.adapters.db.orm import (
    AttachmentRow,
    CaseRow,
    EventRow,
    MailboxStateRow,
    MessageRow,
    OutboxRow,
    QuarantineRow,
)
from mailbot.adapters.db.outbox_rows import OutboxRows
from mailbot.adapters.db.read_model import ReadModel
from mailbot.domain.correlate import ThreadKeys, ThreadMatches
from mailbot.domain.model import (
    Address,
    CaseSnapshot,
    EventRecord,
    Inbound,
    Kind,
    NewCase,
    Ombudsman,
    OurMessage,
)
from mailbot.services.ports import (
    Conflict,
    MailboxState,
    OutboundMail,
    StoredCase,
    StoreUnavailable,
)

FOLLOW_UP_ACK = "follow_up_acknowledgement"


def body_hash(body: str) -> str:
    return hashlib.sha256(" ".join(body.split()).encode("utf-8")).hexdigest()

ACKNOWLEDGEMENTS = ("acknowledgement", FOLLOW_UP_ACK)


class SqlTransaction(OutboxRows, ChaseRows):
    """One unit of work; everything added commits together or not at all."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _lock(self, key: str) -> None:
        """Serialise transactions about the same thing across processes (PostgreSQL; on
        SQLite, BEGIN IMMEDIATE already serialises every writer)."""
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            self.session.execute(sql("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                                 {"k": key})

    def find_duplicate(self, inbound: Inbound) -> str | None:
        """Same bytes, or the same Message-ID, sender and words, is the same message (a copy
        delivered to two of our mailboxes differs only in its trace headers); a Message-ID
        we made ourselves is our own mail coming back, never a new case."""
        sender = inbound.from_.email.lower() if inbound.from_ else ""
        self._lock(f"message:{inbound.message_id}|{sender}" if inbound.message_id
                   else f"bytes:{inbound.raw_sha256}")
        if inbound.message_id:
            ours = self.session.scalar(select(MessageRow.id).where(
                MessageRow.message_id == inbound.message_id, MessageRow.direction == "out"))
            if ours is not None:
                return f"our own outgoing message {ours}"
        same_bytes = self.session.scalar(
            select(MessageRow.id).where(MessageRow.raw_sha256 == inbound.raw_sha256))
        if same_bytes is not None:
            return f"same bytes as message {same_bytes}"
        if inbound.message_id and inbound.from_:
            same_id = self.session.scalar(
                select(MessageRow.id).where(
                    MessageRow.message_id == inbound.message_id,
                    MessageRow.direction == "in",
                    func.lower(MessageRow.from_email) == sender,
                    MessageRow.body_sha256 == body_hash(inbound.text),
                ).limit(1))
            if same_id is not None:
                return f"same Message-ID, sender and words as message {same_id}"
        return None

    def _snapshots(self, rows: list[CaseRow]) -> dict[int, CaseSnapshot]:
        """Cases as the domain sees them: with participants and follow-up state."""
        ids = [r.id for r in rows]
        acknowledged = set(self.session.scalars(
            select(OutboxRow.case_id).where(OutboxRow.case_id.in_(ids),
                                            OutboxRow.template == FOLLOW_UP_ACK)))
        return {r.id: CaseSnapshot(
            id=r.id, reference=r.reference, token=r.token, kind=Kind(r.kind), stage=r.stage,
            status=r.status, service=r.service, directorate=r.directorate,
            ombudsman=Ombudsman(r.ombudsman) if r.ombudsman else None,
            contact=Address(r.contact_name, r.contact_email) if r.contact_email else None,
            received_at=r.received_at, response_due=r.response_due,
            original_due=r.original_due, acknowledged_on=r.acknowledged_on,
            acknowledge_due=r.acknowledge_due,
            extended_days=r.extended_days, outcome=r.outcome,
            responded_at=r.responded_at,
            constituent=Address(r.constituent_name or "", r.constituent_email)
            if r.constituent_email else None,
            participants=frozenset({r.contact_email.lower()} if r.contact_email else ()),
            follow_up_acknowledged=r.id in acknowledged,
        ) for r in rows}

    def thread_matches(self, keys: ThreadKeys) -> ThreadMatches:
        """Everything the keys of one message point at, in a handful of set queries."""
        # Rows are locked (PostgreSQL) so two messages on one case decide one at a time:
        # only one of them can be the follow-up that is acknowledged.
        by_token = self.session.scalars(select(CaseRow).where(
            CaseRow.token.in_(keys.tokens)).order_by(CaseRow.id).with_for_update()
        ).all() if keys.tokens else []
        by_reference = self.session.scalars(select(CaseRow).where(
            CaseRow.reference.in_(keys.references)).order_by(CaseRow.id).with_for_update()
        ).all() if keys.references else []
        ours = self.session.execute(
            select(OutboxRow, MessageRow.message_id).join(
                MessageRow, OutboxRow.message_pk == MessageRow.id).where(or_(
                    MessageRow.message_id.in_(keys.message_ids),
                    OutboxRow.bounce_token.in_(keys.bounce_tokens)))).all() \
            if keys.message_ids or keys.bounce_tokens else []
        case_ids = {o.case_id for o, _ in ours if o.case_id is not None}
        extra = self.session.scalars(select(CaseRow).where(CaseRow.id.in_(case_ids))
                                     .order_by(CaseRow.id).with_for_update()).all() \
            if case_ids else []
        snapshots = self._snapshots(list({r.id: r for r in
                                          (*by_token, *by_reference, *extra)}.values()))

        def our(item: OutboxRow) -> OurMessage:
            case = snapshots.get(item.case_id) if item.case_id is not None else None
            return OurMessage(case, item.id, item.template)

        return ThreadMatches(
            by_token={r.token: snapshots[r.id] for r in by_token},
            by_bounce_token={o.bounce_token: our(o) for o, _ in ours
                             if o.bounce_token in keys.bounce_tokens},
            by_message_id={m: our(o) for o, m in ours if m in keys.message_ids},
            by_reference={r.reference: snapshots[r.id] for r in by_reference},
        )

    def acknowledgements_since(self, email: str, since: dt.datetime) -> int:
        return self.session.scalar(select(func.count(OutboxRow.id)).where(
            OutboxRow.recipient == email.lower(), OutboxRow.created_at >= since,
            OutboxRow.template.in_(ACKNOWLEDGEMENTS))) or 0

    def quarantined_message(self, item_id: int) -> tuple[bytes, str | None] | None:
        row = self.session.get(QuarantineRow, item_id)
        return (row.raw, row.mailbox) if row is not None else None

    def mark_released(self, item_id: int, at: dt.datetime, outcome: str) -> None:
        row = self.session.get_one(QuarantineRow, item_id)
        row.released_at, row.released_as = at, outcome

    def mailbox_state(self, name: str) -> MailboxState:
        row = self.session.get(MailboxStateRow, name)
        return MailboxState(row.uidvalidity, row.last_uid) if row else MailboxState(None, 0)

    def save_mailbox_state(self, name: str, uidvalidity: int | None, last_uid: int,
                           at: dt.datetime, error: str | None) -> None:
        row = self.session.get(MailboxStateRow, name) or MailboxStateRow(name=name)
        row.uidvalidity, row.last_uid, row.last_poll_at, row.last_error = (
            uidvalidity, last_uid, at, error)
        self.session.add(row)

    def update_case(self, case_id: int, changes: dict[str, Any]) -> None:
        row = self.session.get_one(CaseRow, case_id)
        for name, value in changes.items():
            if not hasattr(CaseRow, name):
                raise ValueError(f"cases has no column {name}")
            setattr(row, name, value)

    def reference_taken(self, reference: str) -> bool:
        return self.session.scalar(
            select(CaseRow.id).where(CaseRow.reference == reference)) is not None

    def add_case(self, case: NewCase, reference: str, token: str) -> StoredCase:
        row = CaseRow(
            reference=reference, token=token, kind=case.kind.value, stage=case.stage,
            status="open", service=case.service, directorate=case.directorate,
            ombudsman=case.ombudsman.value if case.ombudsman else None,
            contact_name=case.contact.name if case.contact else "",
            contact_email=case.contact.email if case.contact else None,
            subject=case.subject, received_at=case.received_at,
            acknowledge_due=case.acknowledge_due, acknowledged_on=case.acknowledged_on,
            response_due=case.response_due, original_due=case.response_due,
        )
        self.session.add(row)
        self.session.flush()
        return StoredCase(row.id, reference, token)

    def add_inbound(self, case_id: int | None, inbound: Inbound, text: str, mailbox: str,
                    at: dt.datetime) -> int:
        row = MessageRow(
            case_id=case_id, direction="in", mailbox=mailbox, message_id=inbound.message_id,
            in_reply_to=inbound.in_reply_to, references=list(inbound.references),
            from_name=inbound.from_.name if inbound.from_ else "",
            from_email=inbound.from_.email if inbound.from_ else "",
            to=[a.email for a in (*inbound.to, *inbound.cc)], subject=inbound.subject,
            text=text, at=at, raw=inbound.raw, raw_sha256=inbound.raw_sha256,
            body_sha256=body_hash(inbound.text), size=inbound.size,
        )
        self.session.add(row)
        self.session.flush()
        self.session.add_all(
            AttachmentRow(message_pk=row.id, filename=a.filename, content_type=a.content_type,
                          size=a.size, sha256=a.sha256)
            for a in inbound.attachments)
        return row.id

    def add_events(self, case_id: int, events: tuple[EventRecord, ...], at: dt.datetime) -> None:
        self.session.add_all(
            EventRow(case_id=case_id, at=at, kind=e.kind, actor=e.actor, detail=e.detail)
            for e in events)

    def queue(self, case_id: int | None, mail: OutboundMail, at: dt.datetime) -> int:
        """Store the outgoing message and its outbox item; the sender delivers it later."""
        return self.queue_many([(case_id, mail)], at)[0]

    def queue_many(self, items: list[tuple[int | None, OutboundMail]],
                   at: dt.datetime) -> list[int]:
        """Many at once, in two batched inserts: a scheduled run queues thousands."""
        messages = [MessageRow(
            case_id=case_id, direction="out", mailbox=None, message_id=mail.message_id,
            in_reply_to=mail.in_reply_to, references=[], from_name=mail.from_.name,
            from_email=mail.from_.email, to=list(mail.recipients), subject=mail.subject,
            text=mail.text, at=at, raw=mail.raw, raw_sha256=mail.sha256,
            body_sha256=body_hash(mail.text), size=len(mail.raw),
        ) for case_id, mail in items]
        self.session.add_all(messages)
        self.session.flush()
        outbox = [OutboxRow(message_pk=message.id, case_id=case_id, template=mail.template,
                            envelope_from=mail.envelope_from, status="queued", attempts=0,
                            next_try=at, recipient=mail.recipients[0].lower(),
                            bounce_token=mail.bounce_token, created_at=at)
                  for message, (case_id, mail) in zip(messages, items, strict=True)]
        self.session.add_all(outbox)
        self.session.flush()
        return [row.id for row in outbox]

    def quarantine(self, raw: bytes, sha256: str, mailbox: str | None, reason: str,
                   at: dt.datetime) -> tuple[int, bool]:
        """Keep bytes we cannot handle; the same bytes twice are kept once."""
        existing = self.session.scalar(
            select(QuarantineRow.id).where(QuarantineRow.raw_sha256 == sha256))
        if existing is not None:
            return existing, False
        row = QuarantineRow(mailbox=mailbox, received_at=at, reason=reason, size=len(raw),
                            raw=raw, raw_sha256=sha256)
        self.session.add(row)
        self.session.flush()
        return row.id, True



class SqlStore(ReadModel):
    """The database behind mailbot: transactions for services, plain data for the CLI."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        try:
            with self._sessions.begin() as session:
                yield SqlTransaction(session)
        except IntegrityError as clash:
            raise Conflict(str(clash.orig)) from None
        except (OperationalError, InterfaceError) as outage:
            raise StoreUnavailable(str(outage.orig or outage).strip()) from None
