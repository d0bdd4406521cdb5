"""Reminders, overdue notices, escalations, warnings, holding updates, window expiry and
weekly summaries, run by `tick` with a fixed clock, on SQLite and PostgreSQL.

Dates (England): Christmas Day Fri 25 Dec 2026, Boxing Day substitute Mon 28 Dec, council
closed 29-31 Dec, New Year's Day Fri 1 Jan 2027; Good Friday 26 Mar 2027, Easter Monday
29 Mar; early May bank holiday Mon 3 May 2027; clocks go back Sun 25 Oct 2026.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from typing import Any

from sqlalchemy import update

from mailbot.adapters.db.orm import CaseRow, OutboxRow
from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.domain.workdays import LONDON
from mailbot.services.chasing import TickReport
from mailbot.services.daemon import Daemon, Pacing
from mailbot.services.schedule import daily_triggers
from tests.conftest import MAIL, Sink
from tests.integration.test_threading import headers_of, mail, outbox

SPOC, HEAD = "repairs.spoc@stoke-example.gov.uk", "repairs.head@stoke-example.gov.uk"
RESIDENT = "sarah.jones@example.com"
DIRECTOR = "hro.director@stoke-example.gov.uk"
TEAM = "feedback@stoke-example.gov.uk"


def at(year: int, month: int, day: int, hour: int = 8, minute: int = 0) -> dt.datetime:
    """A London wall-clock time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def tick(app: App, moment: dt.datetime) -> TickReport:
    later = App.open(app.settings.path, FixedClock(moment))
    try:
        return later.chasing().tick(moment)
    finally:
        later.close()


def owed(app: App, moment: dt.datetime) -> dict[str, int]:
    """What one tick queued about cases (Monday's summaries left out)."""
    return {template: n for template, n in tick(app, moment).queued.items()
            if template not in ("weekly_summary", "digest")}


def open_case(app: App, received: dt.datetime, fixture: str = "complaint_council_tenant_damp"
              ) -> str:
    """A case as intake opens it at `received`; the body differs each time so that the
    same fixture can open several cases."""
    raw = (MAIL / f"{fixture}.eml").read_bytes().replace(
        b"Message-ID: <", f"Message-ID: <{secrets.token_hex(4)}".encode(), 1)
    raw += f"\n{secrets.token_hex(8)}\n".encode()
    later = App.open(app.settings.path, FixedClock(received))
    try:
        return str(later.intake().ingest(raw, "feedback").reference)
    finally:
        later.close()


def set_case(app: App, reference: str, **changes: Any) -> None:
    """Put a case in a state that would take weeks of mail to reach."""
    with app.store.transaction() as tx:
        tx.session.execute(update(CaseRow).where(CaseRow.reference == reference)
                           .values(**changes))


def chased(app: App, template: str, reference: str | None = None) -> list[dict[str, Any]]:
    return [i for i in outbox(app, template) if reference is None or i["case"] == reference]


def text_of(item: dict[str, Any]) -> str:
    return str(headers_of(item).get_body(("plain",)).get_content())


def test_reminders_3_and_1_working_days_before_christmas(app: App) -> None:
    reference = open_case(app, at(2026, 12, 3, 10))
    set_case(app, reference, response_due=dt.date(2027, 1, 4))
    assert not owed(app, at(2026, 12, 21))
    assert owed(app, at(2026, 12, 22)) == {"reminder": 1}  # 22, 23, 24 Dec
    assert not owed(app, at(2026, 12, 22, 15))  # the same day again: nothing
    assert owed(app, at(2026, 12, 24, 9)) == {"reminder": 1}
    assert not owed(app, at(2026, 12, 25, 9))  # Christmas: nothing is sent
    three, one = chased(app, "reminder", reference)
    assert three["to"] == one["to"] == [SPOC] and "Monday 4 January 2027" in text_of(three)
    assert headers_of(three)["Reply-To"].startswith("casework+")


def test_reminder_before_easter_moves_to_the_working_day_before(app: App) -> None:
    reference = open_case(app, at(2027, 3, 15, 10))
    set_case(app, reference, response_due=dt.date(2027, 3, 30))
    assert not owed(app, at(2027, 3, 26, 9))  # Good Friday
    assert owed(app, at(2027, 3, 25, 9)) == {"reminder": 1}  # 1 day before 30 Mar
    assert "Tuesday 30 March 2027" in text_of(chased(app, "reminder", reference)[0])


def test_a_missed_reminder_is_dropped_not_sent_late(app: App) -> None:
    reference = open_case(app, at(2026, 11, 23, 10))  # due Mon 7 Dec
    report = tick(app, at(2026, 12, 7, 9))  # first run in two weeks: both reminders passed
    assert "reminder" not in report.queued and not chased(app, "reminder", reference)


def test_overdue_weekly_escalation_and_holding_update(app: App) -> None:
    reference = open_case(app, at(2026, 11, 23, 10))  # due Mon 7 Dec
    assert not owed(app, at(2026, 12, 7, 9)).get("overdue")
    assert owed(app, at(2026, 12, 8, 9)) == {"overdue": 1, "holding_update": 1}
    assert not owed(app, at(2026, 12, 9, 9))
    assert owed(app, at(2026, 12, 14, 9)) == {"escalation": 1}  # 5 working days late
    assert owed(app, at(2026, 12, 15, 9)) == {"overdue": 1}  # a week after the first
    first, again = chased(app, "overdue", reference)
    assert first["to"] == [SPOC, HEAD] and again["to"] == [SPOC, HEAD]
    (escalation,) = chased(app, "escalation", reference)
    assert escalation["to"] == [DIRECTOR] and "5 working days" in text_of(escalation)
    (holding,) = chased(app, "holding_update", reference)
    assert holding["to"] == [RESIDENT] and "Housing Ombudsman" in text_of(holding)
    assert "Monday 7 December 2026" in text_of(holding)


def test_after_a_week_of_downtime_only_what_is_still_true_is_sent_once(app: App) -> None:
    reference = open_case(app, at(2026, 11, 23, 10))  # due Mon 7 Dec
    report = tick(app, at(2026, 12, 16, 11))
    assert report.queued == {"overdue": 1, "escalation": 1, "holding_update": 1}
    assert not owed(app, at(2026, 12, 16, 11))
    assert len(chased(app, "overdue", reference)) == 1


def test_an_extension_moves_the_reminders_and_stops_the_overdue_notices(app: App) -> None:
    reference = open_case(app, at(2026, 11, 23, 10))  # due Mon 7 Dec
    tick(app, at(2026, 12, 8, 9))
    set_case(app, reference, response_due=dt.date(2026, 12, 18))
    assert not owed(app, at(2026, 12, 15, 9)).get("overdue")
    assert owed(app, at(2026, 12, 15, 10)).get("reminder") is None  # sent at 9
    assert [i["case"] for i in chased(app, "reminder")] == [reference]


def test_acknowledgement_warning_for_a_case_nobody_placed(app: App) -> None:
    reference = open_case(app, at(2026, 11, 23, 10), "triage_unclear")
    assert app.store.case_detail(reference)["service"] is None  # type: ignore[index]
    assert not owed(app, at(2026, 11, 30, 9)).get("ack_warning")  # due that day
    assert owed(app, at(2026, 12, 1, 9)).get("ack_warning") == 1
    assert not owed(app, at(2026, 12, 2, 9)).get("ack_warning")
    (warning,) = chased(app, "ack_warning", reference)
    assert warning["to"] == [TEAM]


def test_window_expiry_closes_stage1_cases_after_10_working_days(app: App) -> None:
    reference = open_case(app, at(2026, 11, 23, 10))
    set_case(app, reference, status="responded", outcome="not_upheld",
             responded_at=at(2026, 11, 24, 15), on_time=True)
    assert tick(app, at(2026, 12, 8, 9)).closed == 0  # the window ends on Tue 8 Dec
    assert tick(app, at(2026, 12, 9, 9)).closed == 1
    case = app.store.case_detail(reference)
    assert case is not None and case["status"] == "closed"
    assert "window_expired" in [e["kind"] for e in case["events"]]


def test_jobs_run_at_eight_london_time_across_the_clock_change(app: App) -> None:
    open_case(app, at(2026, 10, 12, 10))  # due Mon 26 Oct
    bst = dt.datetime(2026, 10, 21, 6, 59, tzinfo=dt.UTC)  # 07:59 BST, Wed 21 Oct
    assert "not due" in tick(app, bst).notes[0]
    assert owed(app, bst + dt.timedelta(minutes=1)) == {"reminder": 1}
    friday = dt.datetime(2026, 10, 23, 7, 59, tzinfo=dt.UTC)  # 08:59 BST, Fri 23 Oct
    assert owed(app, friday) == {"reminder": 1}
    monday = dt.datetime(2026, 10, 26, 7, 59, tzinfo=dt.UTC)  # 07:59 GMT after the change
    assert "not due" in tick(app, monday).notes[0]


def test_an_officer_can_answer_a_reminder_with_a_command(app: App) -> None:
    reference = open_case(app, at(2026, 11, 23, 10))
    tick(app, at(2026, 12, 2, 9))
    reminder = headers_of(chased(app, "reminder", reference)[0])
    reply = mail(SPOC, f"Re: {reminder['Subject']}", "#extend 3 surveyor ill",
                 to=reminder["Reply-To"], In_Reply_To=reminder["Message-ID"])
    later = App.open(app.settings.path, FixedClock(at(2026, 12, 2, 11)))
    later.intake().ingest(reply, "spoc")
    later.close()
    case = app.store.case_detail(reference)
    assert case is not None and case["response_due"] == "2026-12-10"


def test_the_daemon_runs_the_jobs_at_start_and_sends_what_they_queue(
        app: App, smtp_sink: Sink) -> None:
    reference = open_case(app, at(2026, 11, 23, 10))  # due Mon 7 Dec
    later = App.open(app.settings.path, FixedClock(at(2026, 12, 8, 9)))
    stop = threading.Event()
    daemon = Daemon({}, later.handlers(), later.store, later.sender(), later.clock,
                    Pacing(send_interval=60, max_backoff=5), stop)
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                i["status"] == "sent" for i in chased(app, "overdue", reference)):
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=15)
        later.close()
    assert not thread.is_alive()
    assert [i["status"] for i in chased(app, "overdue", reference)] == ["sent"]
    assert any(SPOC in rcpts for _, rcpts, _ in smtp_sink.messages)


def test_the_schedule_fires_at_eight_london_time_in_summer_and_winter() -> None:
    (trigger,) = daily_triggers([dt.time(8)])
    summer = trigger.get_next_fire_time(None, at(2026, 10, 23, 9))
    winter = trigger.get_next_fire_time(None, at(2026, 10, 26, 7))
    assert summer.astimezone(dt.UTC).hour == 7 and winter.astimezone(dt.UTC).hour == 8


def test_no_holding_update_to_an_address_our_mail_bounced_from(app: App) -> None:
    reference = open_case(app, at(2026, 11, 23, 10))
    with app.store.transaction() as tx:
        tx.session.execute(update(OutboxRow).where(OutboxRow.template == "acknowledgement")
                           .values(status="failed", last_error="550 no such user"))
    assert owed(app, at(2026, 12, 8, 9)) == {"overdue": 1}
    assert not chased(app, "holding_update", reference)


def test_reclassifying_recomputes_what_is_owed(app: App) -> None:
    reference = open_case(app, at(2026, 11, 23, 10))  # a complaint, due Mon 7 Dec
    routed = headers_of(chased(app, "routed_case", reference)[0])
    reply = mail("complaints.officer@stoke-example.gov.uk", f"Re: {routed['Subject']}",
                 "#reclassify service_request", to=routed["Reply-To"],
                 In_Reply_To=routed["Message-ID"])
    later = App.open(app.settings.path, FixedClock(at(2026, 11, 24, 10)))
    later.intake().ingest(reply, "spoc")
    later.close()
    case = app.store.case_detail(reference)
    assert case is not None and case["response_due"] is None
    assert not owed(app, at(2026, 12, 8, 9))  # a service request owes no response
