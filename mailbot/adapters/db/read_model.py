"""The read side: plain dictionaries shaped like the CLI's JSON contracts, so that nothing
above the adapters sees a SQLAlchemy object."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.adapters.db.orm import (
    AttachmentRow,
    CaseRow,
    EventRow,
    MailboxStateRow,
    MessageRow,
    OutboxRow,
    QuarantineRow,
)
from mailbot.domain.health import Facts, MailboxFacts
from mailbot.domain.workdays import LONDON, london_date
from mailbot.services.ports import CaseFilter


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(LONDON).isoformat(timespec="seconds") if moment else None


class ReadModel:
    """Queries for people and reports; each opens its own short session."""

    _sessions: sessionmaker[Session]

    def _case_dict(self, row: CaseRow) -> dict[str, Any]:
        return {
            "reference": row.reference,
            "kind": row.kind,
            "stage": row.stage,
            "status": row.status,
            "service": row.service,
            "directorate": row.directorate,
            "contact": {"name": row.contact_name, "email": row.contact_email},
            "subject": row.subject,
            "received_at": _iso(row.received_at),
            "acknowledge_due": row.acknowledge_due.isoformat() if row.acknowledge_due else None,
            "acknowledged_on": row.acknowledged_on.isoformat() if row.acknowledged_on else None,
            "response_due": row.response_due.isoformat() if row.response_due else None,
            "ombudsman": row.ombudsman,
            "outcome": row.outcome,
            "responded_at": _iso(row.responded_at),
            "on_time": row.on_time,
            "extended_days": row.extended_days,
            "natures": row.natures,
            "adjustments": row.adjustments,
            "constituent": {"name": row.constituent_name, "email": row.constituent_email}
            if row.constituent_email else None,
        }

    def cases(self, where: CaseFilter) -> list[dict[str, Any]]:
        query = select(CaseRow).order_by(CaseRow.received_at, CaseRow.id)
        if where.status:
            query = query.where(CaseRow.status == where.status)
        if where.kind:
            query = query.where(CaseRow.kind == where.kind)
        if where.service == "triage":
            query = query.where(CaseRow.service.is_(None))
        elif where.service:
            query = query.where(CaseRow.service == where.service)
        with self._sessions() as session:
            return [self._case_dict(r) for r in session.scalars(query)]

    def case_detail(self, reference: str) -> dict[str, Any] | None:
        with self._sessions() as session:
            row = session.scalar(select(CaseRow).where(
                func.upper(CaseRow.reference) == reference.strip().upper()))
            if row is None:
                return None
            detail = self._case_dict(row)
            messages = session.scalars(select(MessageRow).where(MessageRow.case_id == row.id)
                                       .order_by(MessageRow.at, MessageRow.id)).all()
            attachments = session.scalars(select(AttachmentRow).where(
                AttachmentRow.message_pk.in_([m.id for m in messages]))).all()
            detail["messages"] = [{
                "direction": m.direction,
                "from": m.from_email,
                "to": m.to,
                "subject": m.subject,
                "text": m.text,
                "at": _iso(m.at),
                "message_id": m.message_id,
                "attachments": [{"filename": a.filename, "content_type": a.content_type,
                                 "size": a.size, "sha256": a.sha256}
                                for a in attachments if a.message_pk == m.id],
            } for m in messages]
            detail["events"] = [{"at": _iso(e.at), "kind": e.kind, "actor": e.actor,
                                 "detail": e.detail}
                                for e in session.scalars(select(EventRow).where(
                                    EventRow.case_id == row.id).order_by(EventRow.id))]
            return detail

    def outbox(self, status: str | None = None) -> list[dict[str, Any]]:
        query = (select(OutboxRow, MessageRow, CaseRow.reference)
                 .join(MessageRow, OutboxRow.message_pk == MessageRow.id)
                 .outerjoin(CaseRow, OutboxRow.case_id == CaseRow.id)
                 .order_by(OutboxRow.id))
        if status:
            query = query.where(OutboxRow.status == status)
        with self._sessions() as session:
            return [{
                "id": o.id, "case": ref, "to": m.to, "subject": m.subject,
                "template": o.template, "status": o.status, "attempts": o.attempts,
                "created_at": _iso(m.at), "sent_at": _iso(o.sent_at), "error": o.last_error,
                "message_id": m.message_id, "raw": m.raw.decode("utf-8", errors="replace"),
            } for o, m, ref in session.execute(query)]

    def quarantined(self, include_released: bool = False) -> list[dict[str, Any]]:
        query = select(QuarantineRow).order_by(QuarantineRow.id)
        if not include_released:
            query = query.where(QuarantineRow.released_at.is_(None))
        with self._sessions() as session:
            return [{"id": q.id, "mailbox": q.mailbox, "received_at": _iso(q.received_at),
                     "reason": q.reason, "size": q.size, "released_at": _iso(q.released_at),
                     "released_as": q.released_as}
                    for q in session.scalars(query)]

    def health_facts(self, now: dt.datetime,
                     intervals: dict[str, dt.timedelta]) -> Facts:
        """A few aggregate queries: cheap enough for a monitor to run every minute."""
        with self._sessions() as session:
            states = {row.name: row for row in session.scalars(
                select(MailboxStateRow).where(MailboxStateRow.name.in_(list(intervals))))}
            queued = OutboxRow.status == "queued"
            outbox = {
                "due": session.scalar(select(func.count()).where(
                    queued, OutboxRow.next_try <= now)) or 0,
                "deferred": session.scalar(select(func.count()).where(
                    queued, OutboxRow.next_try > now)) or 0,
                **{status: session.scalar(select(func.count()).where(
                    OutboxRow.status == status)) or 0 for status in ("failed", "sent")},
            }
            return Facts(
                mailboxes=[MailboxFacts(
                    name, interval, getattr(states.get(name), "last_poll_at", None),
                    getattr(states.get(name), "last_error", None))
                    for name, interval in intervals.items()],
                outbox=outbox,
                oldest_unsent=session.scalar(select(func.min(OutboxRow.created_at))
                                             .where(queued)),
                quarantined=session.scalar(select(func.count()).where(
                    QuarantineRow.released_at.is_(None))) or 0,
                overdue_cases=session.scalar(select(func.count()).where(
                    CaseRow.status == "open",
                    CaseRow.response_due < london_date(now))) or 0,
            )
