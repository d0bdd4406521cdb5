"""The weekly summary and digest as data: figures per directorate from plain rows.

The shell counts with GROUP BY and lists only open cases that are overdue or due this
week; this module shapes them for the templates, so the figures can be checked against a
hand-computed fixture without a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from mailbot.domain.chasing import DAY, handler, summary_day, working_days_after
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import Calendar

TRIAGE = "Triage (not placed)"
FIGURES = ("received", "responded", "on_time", "open", "overdue", "due")


@dataclass(frozen=True)
class Counts:
    """Cases received and responded in the week before, and open now."""

    received: int = 0
    responded: int = 0
    on_time: int = 0
    open: int = 0


@dataclass(frozen=True)
class OpenCase:
    reference: str
    service: str | None
    directorate: str | None
    stage: int | None
    due: dt.date


@dataclass(frozen=True)
class Week:
    """This week (from Monday `start`) and the period its summary reports: the week
    before, or longer when weeks before had no summary day (Christmas, when the council is
    closed all week), so that no week's cases go unreported."""

    start: dt.date
    since: dt.date

    @property
    def end(self) -> dt.date:
        return self.start + 6 * DAY

    def context(self) -> dict[str, dt.date]:
        return {"start": self.start, "previous_start": self.since,
                "previous_end": self.start - DAY}


def week_of(day: dt.date, calendar: Calendar, weekday: int) -> Week:
    start = day - day.weekday() * DAY
    since = start - 7 * DAY
    for _ in range(4):
        if summary_day(calendar, since, weekday) is not None:
            break
        since -= 7 * DAY
    return Week(start, since)


def _row(case: OpenCase, rules: Rules, calendar: Calendar, today: dt.date) -> dict[str, Any]:
    service = rules.services.get(case.service) if case.service else None
    directorate = rules.directorates.get(case.directorate) if case.directorate else None
    return {"reference": case.reference, "service": service.name if service else TRIAGE,
            "directorate": directorate.name if directorate else TRIAGE, "due": case.due,
            "days_overdue": working_days_after(calendar, case.due, today),
            "officer": handler(case.service, case.stage, rules)}


def _listed(cases: list[OpenCase], limit: int, rules: Rules, calendar: Calendar,
            today: dt.date) -> tuple[list[dict[str, Any]], int]:
    ordered = sorted(cases, key=lambda c: (c.due, c.reference))
    return [_row(c, rules, calendar, today) for c in ordered[:limit]], max(0, len(cases) - limit)


def _figures(counts: Counts, overdue: int, due: int) -> dict[str, int]:
    return {**asdict(counts), "overdue": overdue, "due": due}


def summaries(week: Week, today: dt.date, counts: dict[str | None, Counts],
              overdue: list[OpenCase], due: list[OpenCase], rules: Rules, calendar: Calendar,
              limit: int) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """One context per directorate (its executive assistant's summary) and the digest.

    Overdue means open with the response date before today; due this week means open and
    due from today to Sunday. Cases nobody placed appear only in the digest, as triage.
    """
    per_directorate: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for key, directorate in rules.directorates.items():
        mine_overdue = [c for c in overdue if c.directorate == key]
        mine_due = [c for c in due if c.directorate == key]
        listed_overdue, more_overdue = _listed(mine_overdue, limit, rules, calendar, today)
        listed_due, more_due = _listed(mine_due, limit, rules, calendar, today)
        figures = _figures(counts.get(key, Counts()), len(mine_overdue), len(mine_due))
        per_directorate[key] = {
            "directorate": {"name": directorate.name}, "week": week.context(),
            "figures": figures, "overdue": listed_overdue, "more_overdue": more_overdue,
            "due_this_week": listed_due, "more_due": more_due}
        rows.append({"name": directorate.name, **figures})
    known = set(rules.directorates)
    rows.append({"name": TRIAGE, **_figures(
        _sum([c for k, c in counts.items() if k not in known]),
        sum(c.directorate not in known for c in overdue),
        sum(c.directorate not in known for c in due))})
    totals = {name: sum(row[name] for row in rows) for name in FIGURES}
    listed, more = _listed(overdue, limit, rules, calendar, today)
    digest = {"week": week.context(), "rows": rows, "totals": totals, "overdue": listed,
              "more_overdue": more}
    return per_directorate, digest


def _sum(counts: list[Counts]) -> Counts:
    return Counts(*(sum(getattr(c, name) for c in counts)
                    for name in ("received", "responded", "on_time", "open")))
