"""Chasing in working days: which due dates each daily job looks for, and whom it writes to.

Pure date arithmetic over a Calendar. The shell turns these dates into set-based queries
("response due on one of these dates", "due on or before this one"), so a run costs a
handful of queries however many cases are open. Walking day by day keeps every rule
obviously right on Christmas, Easter and bank-holiday Mondays; the walks are a few dozen
days at most.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailbot.domain.model import Address, CaseSnapshot, Notice
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import LONDON, Calendar

DAY = dt.timedelta(days=1)
# How far the walks look: longer than any run of non-working days plus any offset allowed.
HORIZON = 120


def job_day(calendar: Calendar, now: dt.datetime, at: dt.time) -> dt.date | None:
    """Today's London date when a job set for `at` is due now: never on a non-working day,
    never before its time."""
    local = now.astimezone(LONDON)
    if not calendar.is_working_day(local.date()) or local.time() < at:
        return None
    return local.date()


def working_days_after(calendar: Calendar, day: dt.date, until: dt.date) -> int:
    """Working days in (day, until]: how many working days late a response due on `day`
    is on `until`."""
    count, current = 0, day
    while current < until:
        current += DAY
        count += calendar.is_working_day(current)
    return count


def reminder_dues(calendar: Calendar, today: dt.date, days_before: int) -> tuple[dt.date, ...]:
    """Due dates whose reminder, `days_before` working days ahead, falls today. Counting
    working days back from a due date always lands on a working day, so a reminder never
    falls on a weekend or bank holiday: it moves to the working day before."""
    found = []
    for offset in range(1, HORIZON):
        due = today + offset * DAY
        day = _reminder_day(calendar, due, days_before)
        if day > today:
            break
        if day == today:
            found.append(due)
    return tuple(found)


def _reminder_day(calendar: Calendar, due: dt.date, days_before: int) -> dt.date:
    day, remaining = due, days_before
    while remaining:
        day -= DAY
        remaining -= calendar.is_working_day(day)
    return day


def overdue_cutoff(calendar: Calendar, today: dt.date, days: int) -> dt.date:
    """The latest due date that is at least `days` working days overdue today."""
    day = today
    while working_days_after(calendar, day, today) < days:
        day -= DAY
    return day


def window_cutoff(calendar: Calendar, today: dt.date, window: int) -> dt.date:
    """The latest response date whose request window of `window` working days (counted
    from the day after the response, as the letter says) ended before today."""
    day = today - DAY
    while not _window_ended(calendar, day, window, today):
        day -= DAY
    return day


def _window_ended(calendar: Calendar, responded: dt.date, window: int,
                  today: dt.date) -> bool:
    end, remaining = responded, window
    while remaining:
        end += DAY
        remaining -= calendar.is_working_day(end)
    return end < today


def summary_day(calendar: Calendar, today: dt.date, weekday: int) -> dt.date | None:
    """The day of this week's summary: `weekday`, or the first working day after it in
    the same week (a bank-holiday Monday moves it to Tuesday); None if the week has none."""
    day = today - today.weekday() * DAY + weekday * DAY
    while day.weekday() >= weekday and day.isocalendar()[:2] == today.isocalendar()[:2]:
        if calendar.is_working_day(day):
            return day
        day += DAY
    return None


def _unique(people: list[Address]) -> tuple[Address, ...]:
    seen: set[str] = set()
    result = []
    for person in people:
        if person.email.lower() not in seen:
            seen.add(person.email.lower())
            result.append(person)
    return tuple(result)


def recipients(roles: tuple[str, ...], rules: Rules, service_key: str | None = None,
               directorate_key: str | None = None, stage: int | None = None
               ) -> tuple[Address, ...]:
    """Roles resolved for a case (or, without a service, for a directorate's report).

    From stage 2 on a case belongs to the investigating officer and the Feedback Team, not
    the service; whatever has no service or directorate falls to the Feedback Team."""
    team = rules.council.feedback_team
    investigator = rules.council.investigating_officer or team
    later_stage = (stage or 1) >= 2
    service = None if later_stage or not service_key else rules.services.get(service_key)
    directorate = rules.directorates.get(directorate_key) if directorate_key else None
    people = {
        "spoc": service.spoc if service else investigator if later_stage else team,
        "head_of_service": service.head_of_service if service else team,
        "director": directorate.director if directorate else team,
        "executive_assistant": directorate.executive_assistant if directorate else team,
        "feedback_team": team,
        "investigating_officer": investigator,
    }
    return _unique([people[role] for role in roles])


def handler(service_key: str | None, stage: int | None, rules: Rules) -> str:
    """Who is answering a case, as chasers and summaries name them."""
    if (stage or 1) >= 2:
        return (rules.council.investigating_officer or rules.council.feedback_team).name
    service = rules.services.get(service_key) if service_key else None
    return service.head_of_service.name if service else rules.council.feedback_team.name


def to_officers(template: str, roles: tuple[str, ...], case: CaseSnapshot, rules: Rules,
                context: dict[str, Any]) -> Notice:
    """A chase to council staff: replies come back to the casework mailbox with the case
    token, so an officer can answer a reminder with `#respond` or `#extend`."""
    placed = bool(case.service) and (case.stage or 1) < 2
    return Notice(template=template, context=context,
                  to=recipients(roles, rules, case.service, case.directorate, case.stage),
                  auto_submitted="auto-generated", reply_to_role="spoc" if placed else "feedback",
                  in_reply_to_inbound=False)


def holding_update(case: CaseSnapshot, due: dt.date, aim: dt.date) -> Notice:
    return Notice(template="holding_update", to=(case.contact,) if case.contact else (),
                  context={"due": due, "aim_date": aim}, auto_submitted="auto-generated",
                  in_reply_to_inbound=False)
