"""The chasing jobs' queries: set-based, so a run costs the same handful of queries with
a hundred open cases or a hundred thousand. Part of the one transaction object services
use (see repository.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import case, exists, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from mailbot.adapters.db.orm import CaseRow, ChaseRow, EventRow, OutboxRow
from mailbot.adapters.db.rows import Rows
from mailbot.domain.model import CaseSnapshot
from mailbot.domain.summary import Counts, OpenCase
from mailbot.services.ports import ChaseQuery

OPEN = "open"


class ChaseRows(Rows):
    _snapshots: Callable[[list[CaseRow]], dict[int, CaseSnapshot]]

    def chase_candidates(self, query: ChaseQuery, limit: int) -> list[CaseSnapshot]:
        """Open cases the job is about that have not had this notice for this date yet."""
        due_column = (CaseRow.acknowledge_due if query.unacknowledged_by
                      else CaseRow.response_due)
        done = [ChaseRow.case_id == CaseRow.id, ChaseRow.kind == query.kind,
                ChaseRow.due_on == due_column]
        if query.quiet_since is not None:
            done.append(ChaseRow.sent_on > query.quiet_since)
        where: list[ColumnElement[bool]] = [CaseRow.status == OPEN, ~exists().where(*done)]
        if query.due_in:
            where.append(CaseRow.response_due.in_(query.due_in))
        if query.due_by is not None:
            where.append(CaseRow.response_due <= query.due_by)
        if query.unacknowledged_by is not None:
            where += [CaseRow.acknowledge_due < query.unacknowledged_by,
                      or_(CaseRow.acknowledged_on.is_(None), CaseRow.service.is_(None))]
        if query.written_to:
            bounced = exists().where(OutboxRow.case_id == CaseRow.id,
                                     OutboxRow.status == "failed",
                                     OutboxRow.recipient == func.lower(CaseRow.contact_email))
            where += [CaseRow.acknowledged_on.is_not(None), CaseRow.contact_email.is_not(None),
                      ~bounced]
        rows = list(self.session.scalars(
            select(CaseRow).where(*where).order_by(CaseRow.id).limit(limit)))
        snapshots = self._snapshots(rows)
        return [snapshots[row.id] for row in rows]

    def record_chase(self, key: str, kind: str, case_id: int | None, due_on: dt.date | None,
                     sent_on: dt.date, outbox_id: int | None, at: dt.datetime) -> None:
        self.session.add(ChaseRow(key=key, kind=kind, case_id=case_id, due_on=due_on,
                                  sent_on=sent_on, outbox_id=outbox_id, created_at=at))

    def chased(self, key: str) -> bool:
        return self.session.scalar(select(ChaseRow.id).where(ChaseRow.key == key)) is not None

    def close_responded(self, kind: str, stage: int | None, responded_before: dt.datetime,
                        detail: str, at: dt.datetime) -> int:
        """Close responded cases of one kind and stage whose response came before the
        cut-off, and record an event on exactly the cases this statement closed."""
        stage_is = CaseRow.stage.is_(None) if stage is None else CaseRow.stage == stage
        closed = list(self.session.scalars(
            update(CaseRow).where(CaseRow.status == "responded", CaseRow.kind == kind,
                                  stage_is, CaseRow.responded_at < responded_before)
            .values(status="closed").returning(CaseRow.id)))
        if closed:
            self.session.execute(insert(EventRow), [
                {"case_id": case_id, "at": at, "kind": "window_expired", "actor": "mailbot",
                 "detail": detail} for case_id in closed])
        return len(closed)

    def responded_groups(self) -> list[tuple[str, int | None]]:
        return [(kind, stage) for kind, stage in self.session.execute(
            select(CaseRow.kind, CaseRow.stage).where(CaseRow.status == "responded")
            .distinct())]

    def summary_counts(self, since: dt.datetime, until: dt.datetime) -> dict[str | None, Counts]:
        """Received and responded in [since, until), and open now, per directorate. Open
        means awaiting a response: compliments and service requests are passed on, and owe
        none."""
        received = {d: n for d, n in self.session.execute(
            select(CaseRow.directorate, func.count()).where(
                CaseRow.received_at >= since, CaseRow.received_at < until)
            .group_by(CaseRow.directorate))}
        responded = {d: (n, int(t or 0)) for d, n, t in self.session.execute(
            select(CaseRow.directorate, func.count(),
                   func.sum(case((CaseRow.on_time.is_(True), 1), else_=0)))
            .where(CaseRow.responded_at >= since, CaseRow.responded_at < until)
            .group_by(CaseRow.directorate))}
        open_now = {d: n for d, n in self.session.execute(
            select(CaseRow.directorate, func.count()).where(
                CaseRow.status == OPEN, CaseRow.response_due.is_not(None))
            .group_by(CaseRow.directorate))}
        keys = set(received) | set(responded) | set(open_now)
        return {key: Counts(received.get(key, 0), responded.get(key, (0, 0))[0],
                            responded.get(key, (0, 0))[1], open_now.get(key, 0))
                for key in keys}

    def open_cases_due(self, until: dt.date) -> list[OpenCase]:
        """Open cases with a response date on or before `until`."""
        return [OpenCase(*row) for row in self.session.execute(
            select(CaseRow.reference, CaseRow.service, CaseRow.directorate, CaseRow.stage,
                   CaseRow.response_due).where(CaseRow.status == OPEN,
                                               CaseRow.response_due <= until))]
