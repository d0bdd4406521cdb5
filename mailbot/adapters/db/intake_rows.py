"""What intake reads and writes for every message, as Core statements on the tables.

Intake is the hot path: a backlog is filed at the speed of these few statements. Through
the ORM each object cost a unit-of-work flush and each query an ORM compile, most of the
database time per message, so here rows go in as plain INSERTs and lookups are plain
SELECTs of one column, prepared once and run on the transaction's connection
(prepared.py). Part of the one transaction object services use (repository.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, text

from mailbot.adapters.db.orm import ATTACHMENTS, CASES, EVENTS, MESSAGES, OUTBOX
from mailbot.adapters.db.prepared import Prepared
from mailbot.adapters.db.rows import Rows
from mailbot.domain.model import EventRecord, Inbound, NewCase
from mailbot.services.ports import OutboundMail, StoredCase

FOLLOW_UP_ACK = "follow_up_acknowledgement"
ACKNOWLEDGEMENTS = ("acknowledgement", FOLLOW_UP_ACK)

# Built and compiled once (prepared.py): making a statement costs several times what
# executing it does, and SQLAlchemy's execution of it several times what SQLite's does.
_m, _o, _c = MESSAGES.c, OUTBOX.c, CASES.c
_ADVISORY_LOCK = Prepared(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"))
_SAME_MESSAGE = Prepared(select(  # every row that may make an inbound message a duplicate
    _m.id, _m.direction, _m.message_id, _m.raw_sha256,
    and_(_m.direction == "in", func.lower(_m.from_email) == bindparam("sender"),
         _m.body_sha256 == bindparam("body_sha256")).label("words"),
).where(or_(_m.raw_sha256 == bindparam("sha"), _m.message_id == bindparam("mid"))
        ).order_by(_m.id))
_ACKNOWLEDGEMENTS_SINCE = Prepared(select(func.count(_o.id)).where(
    _o.recipient == bindparam("email"), _o.created_at >= bindparam("since"),
    or_(*(_o.template == t for t in ACKNOWLEDGEMENTS))))
_REFERENCE = Prepared(select(_c.id).where(_c.reference == bindparam("reference")))
_CASE_COLUMNS = ("reference", "token", "kind", "stage", "status", "service", "directorate",
                 "ombudsman", "contact_name", "contact_email", "subject", "received_at",
                 "acknowledge_due", "acknowledged_on", "response_due", "original_due",
                 "extended_days", "natures")
_MESSAGE_COLUMNS = ("case_id", "direction", "mailbox", "message_id", "in_reply_to",
                    "references", "from_name", "from_email", "to", "subject", "text", "at",
                    "raw", "raw_sha256", "body_sha256", "size")
_OUTBOX_COLUMNS = ("message_pk", "case_id", "template", "envelope_from", "status",
                   "attempts", "next_try", "recipient", "bounce_token", "created_at")
_ADD_CASE = Prepared(insert(CASES).returning(_c.id), _CASE_COLUMNS)
_ADD_MESSAGE = Prepared(insert(MESSAGES).returning(_m.id), _MESSAGE_COLUMNS)
_ADD_OUTBOX = Prepared(insert(OUTBOX).returning(_o.id), _OUTBOX_COLUMNS)
FEW = 4  # outgoing mails queued one by one; more go in batches (queue_many)
_ADD_MESSAGES = insert(MESSAGES).returning(_m.id, sort_by_parameter_order=True)
_ADD_OUTBOXES = insert(OUTBOX).returning(_o.id, sort_by_parameter_order=True)
_ADD_ATTACHMENTS = Prepared(insert(ATTACHMENTS), ("message_pk", "filename", "content_type",
                                                  "size", "sha256"))
_ADD_EVENTS = Prepared(insert(EVENTS), ("case_id", "at", "kind", "actor", "detail"))


def body_hash(body: str) -> str:
    return hashlib.sha256(" ".join(body.split()).encode("utf-8")).hexdigest()


class IntakeRows(Rows):
    def _lock(self, key: str) -> None:
        """Serialise transactions about the same thing across processes (PostgreSQL; on
        SQLite, BEGIN IMMEDIATE already serialises every writer)."""
        if self.connection.dialect.name == "postgresql":
            _ADVISORY_LOCK.rows(self.ready(), {"k": key})

    def find_duplicate(self, inbound: Inbound) -> str | None:
        """Same bytes, or the same Message-ID, sender and words, is the same message (a copy
        delivered to two of our mailboxes differs only in its trace headers); a Message-ID
        we made ourselves is our own mail coming back, never a new case."""
        sender = inbound.from_.email.lower() if inbound.from_ else ""
        self._lock(f"message:{inbound.message_id}|{sender}" if inbound.message_id
                   else f"bytes:{inbound.raw_sha256}")
        mid, sha = inbound.message_id, inbound.raw_sha256
        rows = _SAME_MESSAGE.rows(self.ready(), {  # one query for the three questions
            "sender": sender, "body_sha256": body_hash(inbound.text), "sha": sha, "mid": mid,
        })
        for pk, direction, message_id, _, _ in rows:
            if mid and message_id == mid and direction == "out":
                return f"our own outgoing message {pk}"
        for pk, _, _, raw_sha256, _ in rows:
            if raw_sha256 == sha:
                return f"same bytes as message {pk}"
        for pk, _, message_id, _, words in rows:
            if mid and inbound.from_ and message_id == mid and words:
                return f"same Message-ID, sender and words as message {pk}"
        return None

    def acknowledgements_since(self, email: str, since: dt.datetime) -> int:
        [(count,)] = _ACKNOWLEDGEMENTS_SINCE.rows(self.ready(),
                                                  {"email": email.lower(), "since": since})
        return int(count or 0)

    def reference_taken(self, reference: str) -> bool:
        return bool(_REFERENCE.rows(self.ready(), {"reference": reference}))

    def add_case(self, case: NewCase, reference: str, token: str) -> StoredCase:
        [(case_id,)] = _ADD_CASE.rows(self.ready(), dict(
            reference=reference, token=token, kind=case.kind.value, stage=case.stage,
            status="open", service=case.service, directorate=case.directorate,
            ombudsman=case.ombudsman.value if case.ombudsman else None,
            contact_name=case.contact.name if case.contact else "",
            contact_email=case.contact.email if case.contact else None,
            subject=case.subject, received_at=case.received_at,
            acknowledge_due=case.acknowledge_due, acknowledged_on=case.acknowledged_on,
            response_due=case.response_due, original_due=case.response_due,
            extended_days=0, natures=[],
        ))
        return StoredCase(case_id, reference, token)

    def add_inbound(self, case_id: int | None, inbound: Inbound, text: str, mailbox: str,
                    at: dt.datetime) -> int:
        [(message_id,)] = _ADD_MESSAGE.rows(self.ready(), dict(
            case_id=case_id, direction="in", mailbox=mailbox, message_id=inbound.message_id,
            in_reply_to=inbound.in_reply_to, references=list(inbound.references),
            from_name=inbound.from_.name if inbound.from_ else "",
            from_email=inbound.from_.email if inbound.from_ else "",
            to=[a.email for a in (*inbound.to, *inbound.cc)], subject=inbound.subject,
            text=text, at=at, raw=inbound.raw, raw_sha256=inbound.raw_sha256,
            body_sha256=body_hash(inbound.text), size=inbound.size,
        ))
        if inbound.attachments:
            _ADD_ATTACHMENTS.many(self.ready(), [dict(
                message_pk=message_id, filename=a.filename, content_type=a.content_type,
                size=a.size, sha256=a.sha256) for a in inbound.attachments])
        return int(message_id)

    def add_events(self, case_id: int, events: tuple[EventRecord, ...], at: dt.datetime) -> None:
        if events:
            _ADD_EVENTS.many(self.ready(), [dict(
                case_id=case_id, at=at, kind=e.kind, actor=e.actor, detail=e.detail)
                for e in events])

    def queue(self, case_id: int | None, mail: OutboundMail, at: dt.datetime) -> int:
        """Store the outgoing message and its outbox item; the sender delivers it later."""
        return self.queue_many([(case_id, mail)], at)[0]

    def queue_many(self, items: list[tuple[int | None, OutboundMail]],
                   at: dt.datetime) -> list[int]:
        """A message's few by prepared inserts, the least work; a scheduled run's thousands
        in batched inserts, with one round trip to PostgreSQL for many rows, not each."""
        if len(items) <= FEW:
            return [self._queue_one(case_id, mail, at) for case_id, mail in items]
        pks = self.execute(_ADD_MESSAGES, [_message_row(case_id, mail, at)
                                           for case_id, mail in items]).scalars().all()
        return list(self.execute(_ADD_OUTBOXES, [
            _outbox_row(pk, case_id, mail, at)
            for pk, (case_id, mail) in zip(pks, items, strict=True)]).scalars().all())

    def _queue_one(self, case_id: int | None, mail: OutboundMail, at: dt.datetime) -> int:
        connection = self.ready()
        [(pk,)] = _ADD_MESSAGE.rows(connection, _message_row(case_id, mail, at))
        [(item_id,)] = _ADD_OUTBOX.rows(connection, _outbox_row(pk, case_id, mail, at))
        return int(item_id)


def _message_row(case_id: int | None, mail: OutboundMail, at: dt.datetime) -> dict[str, Any]:
    return dict(case_id=case_id, direction="out", mailbox=None, message_id=mail.message_id,
                in_reply_to=mail.in_reply_to, references=[], from_name=mail.from_.name,
                from_email=mail.from_.email, to=list(mail.recipients), subject=mail.subject,
                text=mail.text, at=at, raw=mail.raw, raw_sha256=mail.sha256,
                body_sha256=body_hash(mail.text), size=len(mail.raw))


def _outbox_row(message_pk: int, case_id: int | None, mail: OutboundMail,
                at: dt.datetime) -> dict[str, Any]:
    return dict(message_pk=message_pk, case_id=case_id, template=mail.template,
                envelope_from=mail.envelope_from, status="queued", attempts=0, next_try=at,
                recipient=mail.recipients[0].lower(), bounce_token=mail.bounce_token,
                created_at=at)
