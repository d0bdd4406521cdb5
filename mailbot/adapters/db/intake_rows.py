"""What intake reads and writes for every message, as Core statements on the tables.

Intake is the hot path: a backlog is filed at the speed of these few statements. Through
the ORM each object cost a unit-of-work flush and each query an ORM compile, most of the
database time per message, so here rows go in as plain INSERTs and lookups are plain
SELECTs of one column, on the transaction's connection (rows.py). Part of the one
transaction object services use (repository.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import and_, bindparam, func, insert, or_, select, text

from mailbot.adapters.db.orm import ATTACHMENTS, CASES, EVENTS, MESSAGES, OUTBOX
from mailbot.adapters.db.rows import Rows
from mailbot.domain.model import EventRecord, Inbound, NewCase
from mailbot.services.ports import OutboundMail, StoredCase

FOLLOW_UP_ACK = "follow_up_acknowledgement"
ACKNOWLEDGEMENTS = ("acknowledgement", FOLLOW_UP_ACK)

# Built once: making a statement costs several times what executing it does (profiling:
# some 250 µs against 70 µs for a one-row SELECT on SQLite).
_m, _o, _c = MESSAGES.c, OUTBOX.c, CASES.c
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))")
_SAME_MESSAGE = select(  # every row that may make an inbound message a duplicate
    _m.id, _m.direction, _m.message_id, _m.raw_sha256,
    and_(_m.direction == "in", func.lower(_m.from_email) == bindparam("sender"),
         _m.body_sha256 == bindparam("body_sha256")).label("words"),
).where(or_(_m.raw_sha256 == bindparam("sha"), _m.message_id == bindparam("mid"))
        ).order_by(_m.id)
_ACKNOWLEDGEMENTS_SINCE = select(func.count(_o.id)).where(
    _o.recipient == bindparam("email"), _o.created_at >= bindparam("since"),
    or_(*(_o.template == t for t in ACKNOWLEDGEMENTS)))
_REFERENCE = select(_c.id).where(_c.reference == bindparam("reference"))
_ADD_CASE = insert(CASES).returning(_c.id)
_ADD_MESSAGE = insert(MESSAGES).returning(_m.id)
_ADD_MESSAGES = insert(MESSAGES).returning(_m.id, sort_by_parameter_order=True)
_ADD_OUTBOX = insert(OUTBOX).returning(_o.id, sort_by_parameter_order=True)
_ADD_ATTACHMENTS = insert(ATTACHMENTS)
_ADD_EVENTS = insert(EVENTS)


def body_hash(body: str) -> str:
    return hashlib.sha256(" ".join(body.split()).encode("utf-8")).hexdigest()


class IntakeRows(Rows):
    def _lock(self, key: str) -> None:
        """Serialise transactions about the same thing across processes (PostgreSQL; on
        SQLite, BEGIN IMMEDIATE already serialises every writer)."""
        if self.connection.dialect.name == "postgresql":
            self.execute(_ADVISORY_LOCK, {"k": key})

    def find_duplicate(self, inbound: Inbound) -> str | None:
        """Same bytes, or the same Message-ID, sender and words, is the same message (a copy
        delivered to two of our mailboxes differs only in its trace headers); a Message-ID
        we made ourselves is our own mail coming back, never a new case."""
        sender = inbound.from_.email.lower() if inbound.from_ else ""
        self._lock(f"message:{inbound.message_id}|{sender}" if inbound.message_id
                   else f"bytes:{inbound.raw_sha256}")
        mid, sha = inbound.message_id, inbound.raw_sha256
        rows = self.execute(_SAME_MESSAGE, {  # one query for the three questions
            "sender": sender, "body_sha256": body_hash(inbound.text), "sha": sha, "mid": mid,
        }).all()
        for row in rows:
            if mid and row.message_id == mid and row.direction == "out":
                return f"our own outgoing message {row.id}"
        for row in rows:
            if row.raw_sha256 == sha:
                return f"same bytes as message {row.id}"
        for row in rows:
            if mid and inbound.from_ and row.message_id == mid and row.words:
                return f"same Message-ID, sender and words as message {row.id}"
        return None

    def acknowledgements_since(self, email: str, since: dt.datetime) -> int:
        return self.execute(_ACKNOWLEDGEMENTS_SINCE,
                            {"email": email.lower(), "since": since}).scalar() or 0

    def reference_taken(self, reference: str) -> bool:
        return self.execute(_REFERENCE, {"reference": reference}).first() is not None

    def add_case(self, case: NewCase, reference: str, token: str) -> StoredCase:
        case_id = self.execute(_ADD_CASE, dict(
            reference=reference, token=token, kind=case.kind.value, stage=case.stage,
            status="open", service=case.service, directorate=case.directorate,
            ombudsman=case.ombudsman.value if case.ombudsman else None,
            contact_name=case.contact.name if case.contact else "",
            contact_email=case.contact.email if case.contact else None,
            subject=case.subject, received_at=case.received_at,
            acknowledge_due=case.acknowledge_due, acknowledged_on=case.acknowledged_on,
            response_due=case.response_due, original_due=case.response_due,
        )).scalar_one()
        return StoredCase(case_id, reference, token)

    def add_inbound(self, case_id: int | None, inbound: Inbound, text: str, mailbox: str,
                    at: dt.datetime) -> int:
        message_id: int = self.execute(_ADD_MESSAGE, dict(
            case_id=case_id, direction="in", mailbox=mailbox, message_id=inbound.message_id,
            in_reply_to=inbound.in_reply_to, references=list(inbound.references),
            from_name=inbound.from_.name if inbound.from_ else "",
            from_email=inbound.from_.email if inbound.from_ else "",
            to=[a.email for a in (*inbound.to, *inbound.cc)], subject=inbound.subject,
            text=text, at=at, raw=inbound.raw, raw_sha256=inbound.raw_sha256,
            body_sha256=body_hash(inbound.text), size=inbound.size,
        )).scalar_one()
        if inbound.attachments:
            self.execute(_ADD_ATTACHMENTS, [dict(
                message_pk=message_id, filename=a.filename, content_type=a.content_type,
                size=a.size, sha256=a.sha256) for a in inbound.attachments])
        return message_id

    def add_events(self, case_id: int, events: tuple[EventRecord, ...], at: dt.datetime) -> None:
        if events:
            self.execute(_ADD_EVENTS, [dict(
                case_id=case_id, at=at, kind=e.kind, actor=e.actor, detail=e.detail)
                for e in events])

    def queue(self, case_id: int | None, mail: OutboundMail, at: dt.datetime) -> int:
        """Store the outgoing message and its outbox item; the sender delivers it later."""
        return self.queue_many([(case_id, mail)], at)[0]

    def queue_many(self, items: list[tuple[int | None, OutboundMail]],
                   at: dt.datetime) -> list[int]:
        """Many at once, in two batched inserts: a scheduled run queues thousands."""
        if not items:
            return []
        messages = self.execute(_ADD_MESSAGES, [dict(
            case_id=case_id, direction="out", mailbox=None, message_id=mail.message_id,
            in_reply_to=mail.in_reply_to, references=[], from_name=mail.from_.name,
            from_email=mail.from_.email, to=list(mail.recipients), subject=mail.subject,
            text=mail.text, at=at, raw=mail.raw, raw_sha256=mail.sha256,
            body_sha256=body_hash(mail.text), size=len(mail.raw),
        ) for case_id, mail in items]).scalars().all()
        return list(self.execute(_ADD_OUTBOX, [dict(
            message_pk=message_pk, case_id=case_id, template=mail.template,
            envelope_from=mail.envelope_from, status="queued", attempts=0, next_try=at,
            recipient=mail.recipients[0].lower(), bounce_token=mail.bounce_token,
            created_at=at,
        ) for message_pk, (case_id, mail) in zip(messages, items, strict=True)]).scalars().all())
