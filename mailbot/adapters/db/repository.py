"""The write side of the database: one transaction object per unit of work.

Services use `SqlTransaction` for everything they read to decide and everything they
write; `SqlStore` adds the read model (read_model.py) for the CLI and reports.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, or_, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker

from mailbot.adapters.db.chase_rows import ChaseRows
from mailbot.adapters.db.engine import Checkpointer, make_engine
from mailbot.adapters.db.intake_rows import FOLLOW_UP_ACK, IntakeRows
from mailbot.adapters.db.migrate import migrate
from mailbot.adapters.db.orm import CaseRow, MailboxStateRow, MessageRow, OutboxRow, QuarantineRow
from mailbot.adapters.db.outbox_rows import OutboxRows
from mailbot.adapters.db.read_model import ReadModel
from mailbot.domain.correlate import ThreadKeys, ThreadMatches
from mailbot.domain.model import Address, CaseSnapshot, Kind, Ombudsman, OurMessage
from mailbot.services.ports import Conflict, MailboxState, StoreUnavailable


class SqlTransaction(IntakeRows, OutboxRows, ChaseRows):
    """One unit of work; everything added commits together or not at all."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _snapshots(self, rows: list[CaseRow]) -> dict[int, CaseSnapshot]:
        """Cases as the domain sees them: with participants and follow-up state."""
        if not rows:  # a new message's usual case: no query at all
            return {}
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
        self._checkpointer = Checkpointer(self.engine) \
            if self.engine.dialect.name == "sqlite" else None
        if self._checkpointer is not None:  # a store dropped without close() stops it too
            weakref.finalize(self, self._checkpointer.stop)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        try:
            with self.engine.begin() as connection:
                tx = SqlTransaction(connection)
                yield tx
                tx.finish()
        except IntegrityError as clash:
            raise Conflict(str(clash.orig)) from None
        except (OperationalError, InterfaceError) as outage:
            raise StoreUnavailable(str(outage.orig or outage).strip()) from None
