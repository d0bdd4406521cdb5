"""`mailbot tick` and the daemon's schedule: reminders, overdue notices, escalations,
acknowledgement warnings, holding updates, stage 2 window expiry and weekly summaries.

Every job asks "what is owed now?", never "what happened since last time?": each notice
is recorded under a unique key (kind, case, due date; for weekly repeats also the day), so
a second run, a run after a week of downtime, or two processes at once queue only what is
still owed. Reminders whose day has passed are simply never asked for; an overdue notice
or escalation that is still true is sent once; a missed week's summary is not sent late.
Jobs queue mail in the outbox; sending is the sender's job.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mailbot.domain.chasing import (
    handler,
    holding_update,
    job_day,
    overdue_cutoff,
    recipients,
    reminder_dues,
    summary_day,
    to_officers,
    window_cutoff,
    working_days_after,
)
from mailbot.domain.model import CaseSnapshot, EventRecord, Kind, Notice
from mailbot.domain.rules import Rules
from mailbot.domain.summary import summaries, week_of
from mailbot.domain.workdays import LONDON, Calendar, add_working_days, london_midnight
from mailbot.rendering import Renderer
from mailbot.services.compose import MailIdentity, case_context, compose, council_context
from mailbot.services.ports import ChaseQuery, Conflict, OutboundMail, Store, Transaction

log = logging.getLogger(__name__)
BATCH = 500
ATTEMPTS = 3


@dataclass
class TickReport:
    at: dt.datetime
    queued: Counter[str] = field(default_factory=Counter)
    closed: int = 0
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        done = [f"{n} {template}" for template, n in sorted(self.queued.items())]
        if self.closed:
            done.append(f"{self.closed} closed (stage 2 window ended)")
        when = self.at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M %Z")
        return f"tick at {when}: " + ("; ".join(done) or "nothing owed") + "".join(
            f"\n  {note}" for note in (*self.notes, *(f"failed: {e}" for e in self.errors)))

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "queued": dict(self.queued), "closed": self.closed,
                "notes": self.notes, "errors": self.errors}


@dataclass(frozen=True)
class Job:
    """One per-case notice: which cases, the notice for each, and the date it is keyed on."""

    kind: str
    query: ChaseQuery
    notice: Callable[[CaseSnapshot], Notice]
    due: Callable[[CaseSnapshot], dt.date | None]
    repeat: bool = False


class Chasing:
    def __init__(self, store: Store, rules: Rules, calendar: Calendar, renderer: Renderer,
                 identity: MailIdentity, batch: int = BATCH) -> None:
        self.store = store
        self.rules = rules
        self.calendar = calendar
        self.renderer = renderer
        self.identity = identity
        self.batch = batch

    def tick(self, now: dt.datetime, stop: threading.Event | None = None) -> TickReport:
        """Run every job that is due at `now`; safe to call at any time, any number of times.
        A `stop` request ends it after the batch in hand: the rest is owed at the next run."""
        report = TickReport(now)
        schedule = self.rules.schedule
        today = job_day(self.calendar, now, schedule.daily_at)
        if today is None:
            report.notes.append(f"daily jobs: not due (they run at {schedule.daily_at:%H:%M} "
                                "London time on working days)")
        else:
            for job in self._jobs(today):
                self._guarded(job.kind, report, self._run, job, today, now, report, stop)
            if schedule.window_expiry and not (stop and stop.is_set()):
                self._guarded("window_expiry", report, self._expire_windows, today, now, report)
        if not (stop and stop.is_set()):
            self._guarded("weekly_summary", report, self._weekly, now, report)
        return report

    @staticmethod
    def _guarded(name: str, report: TickReport, job: Callable[..., None], *args: Any) -> None:
        """One job's failure (a database blip, a bad template) is reported and leaves the
        others to run; whatever it did not commit is owed again at the next run."""
        try:
            job(*args)
        except Exception as error:
            log.error("%s: %s: %s", name, type(error).__name__, error)
            report.errors.append(f"{name}: {type(error).__name__}: {error}")

    def _jobs(self, today: dt.date) -> list[Job]:
        schedule, rules, calendar = self.rules.schedule, self.rules, self.calendar

        def late(case: CaseSnapshot) -> int:
            return working_days_after(calendar, case.response_due or today, today)

        def response_due(case: CaseSnapshot) -> dt.date | None:
            return case.response_due

        def reminder(days: int) -> Job:
            return Job(f"reminder-{days}", ChaseQuery(
                f"reminder-{days}", due_in=reminder_dues(calendar, today, days)),
                lambda case: to_officers("reminder", schedule.reminder_to, case, rules, {
                    "due": case.response_due, "days_left": days}), response_due)

        jobs = [reminder(days) for days in schedule.reminder_days]
        jobs += [
            Job("overdue", ChaseQuery(
                "overdue", due_by=overdue_cutoff(calendar, today, 1),
                quiet_since=today - dt.timedelta(days=schedule.overdue_repeat_days)),
                lambda case: to_officers("overdue", schedule.overdue_to, case, rules, {
                    "due": case.response_due, "days_overdue": late(case),
                    "repeat_days": schedule.overdue_repeat_days}), response_due, repeat=True),
            Job("escalation", ChaseQuery(
                "escalation", due_by=overdue_cutoff(calendar, today, schedule.escalation_days)),
                lambda case: to_officers("escalation", schedule.escalation_to, case, rules, {
                    "due": case.response_due, "days_overdue": late(case),
                    "handler": handler(case.service, case.stage, rules)}), response_due),
            Job("ack_warning", ChaseQuery("ack_warning", unacknowledged_by=today),
                lambda case: to_officers("ack_warning", schedule.ack_warning_to, case, rules, {
                    "acknowledge_due": case.acknowledge_due,
                    "acknowledged": case.acknowledged_on is not None,
                    "placed": case.service is not None}), lambda case: case.acknowledge_due),
            Job("holding_update", ChaseQuery(
                "holding_update", due_by=overdue_cutoff(calendar, today, schedule.holding_days),
                written_to=True),
                lambda case: holding_update(case, case.response_due or today, add_working_days(
                    calendar, today, schedule.holding_aim_days)), response_due),
        ]
        return jobs

    def _run(self, job: Job, today: dt.date, now: dt.datetime, report: TickReport,
             stop: threading.Event | None) -> None:
        """Batches of cases, each batch one transaction. If another process queued some of
        the same notices first, its keys win, the batch rolls back, and the next query
        leaves those cases out."""
        conflicts = 0
        while stop is None or not stop.is_set():
            try:
                with self.store.transaction() as tx:
                    cases = tx.chase_candidates(job.query, self.batch)
                    queued = self._chase(tx, job, cases, today, now)
            except Conflict:
                conflicts += 1
                if conflicts >= ATTEMPTS:
                    report.notes.append(f"{job.kind}: left for the next run (another process "
                                        "is queueing the same notices)")
                    return
                continue
            report.queued.update(queued)
            if len(cases) < self.batch:
                return

    def _chase(self, tx: Transaction, job: Job, cases: list[CaseSnapshot], today: dt.date,
               now: dt.datetime) -> list[str]:
        """Compose every notice of the batch, then write them in a few batched inserts."""
        notices = [(case, job.notice(case)) for case in cases]
        mails: list[tuple[int | None, OutboundMail]] = [
            (case.id, compose(notice, case_context(case, self.rules), None, case.token,
                              self.identity, self.renderer, now))
            for case, notice in notices if notice.to]
        outbox = iter(tx.queue_many(mails, now) if mails else [])
        sent = iter(mail for _, mail in mails)
        for case, notice in notices:
            due = job.due(case)
            item, event = None, EventRecord("not_sent", f"{notice.template}: no recipient")
            if notice.to:
                item, mail = next(outbox), next(sent)
                event = EventRecord("queued", f"{notice.template} to "
                                              f"{', '.join(mail.recipients)} (outbox {item})")
            key = f"{job.kind}:{case.id}:{due}" + (f":{today}" if job.repeat else "")
            tx.record_chase(key, job.kind, case.id, due, today, item, now)
            tx.add_events(case.id, (event,), now)
        return [notice.template for _, notice in notices if notice.to]

    def _expire_windows(self, today: dt.date, now: dt.datetime, report: TickReport) -> None:
        """Responded cases whose window to ask for the next stage has ended are closed."""
        with self.store.transaction() as tx:
            for kind, stage in tx.responded_groups():
                procedure = self.rules.procedures.get(Kind(kind))
                following = (procedure.stages.get((stage or 1) + 1)
                             if procedure and Kind(kind).is_complaint else None)
                window = following.request_window_days or 0 if following else 0
                cutoff = window_cutoff(self.calendar, today, window)
                detail = (f"no request for stage {(stage or 1) + 1} within {window} working "
                          "days of the response: closed" if following
                          else "responded, and there is no further stage: closed")
                report.closed += tx.close_responded(
                    kind, stage, london_midnight(cutoff + dt.timedelta(1)), detail, now)

    def _weekly(self, now: dt.datetime, report: TickReport) -> None:
        schedule = self.rules.schedule
        local = now.astimezone(LONDON)
        day = summary_day(self.calendar, local.date(), schedule.summary_weekday)
        if day != local.date() or local.time() < schedule.summary_at:
            return
        week = week_of(day, self.calendar, schedule.summary_weekday)
        try:
            with self.store.transaction() as tx:
                if tx.chased(f"digest:{week.start}"):
                    return
                counts = tx.summary_counts(london_midnight(week.since), london_midnight(week.start))
                listed = tx.open_cases_due(week.end)
                contexts, digest = summaries(
                    week, day, counts, [c for c in listed if c.due < day],
                    [c for c in listed if c.due >= day], self.rules, self.calendar,
                    schedule.summary_max_listed)
                for key, context in contexts.items():
                    self._report(tx, "weekly_summary", f"weekly_summary:{key}:{week.start}",
                                 recipients(schedule.summary_to, self.rules, directorate_key=key),
                                 context, week.start, day, now, report)
                self._report(tx, "digest", f"digest:{week.start}",
                             recipients(schedule.digest_to, self.rules), digest, week.start, day,
                             now, report)
        except Conflict:
            report.notes.append("weekly summary: already queued by another process")

    def _report(self, tx: Transaction, template: str, key: str, to: tuple[Any, ...],
                context: dict[str, Any], week_start: dt.date, day: dt.date,
                now: dt.datetime, report: TickReport) -> None:
        notice = Notice(template=template, to=to, context=context,
                        auto_submitted="auto-generated", in_reply_to_inbound=False)
        mail = compose(notice, council_context(self.rules), None, None,
                       self.identity, self.renderer, now)
        outbox = tx.queue(None, mail, now)
        tx.record_chase(key, template, None, week_start, day, outbox, now)
        report.queued[template] += 1
