"""Working-day arithmetic over a Calendar value.

Every timescale in the complaints procedures is counted in working days: Monday to Friday,
less bank holidays in England and the days the council closes. The Calendar is built once
by the shell (from `holidays` and the rules) and passed in, so these functions never read
the clock and are easy to test on Christmas, Easter and bank-holiday Mondays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays

SATURDAY, SUNDAY = 5, 6
LONDON = ZoneInfo("Europe/London")


def london_date(moment: dt.datetime) -> dt.date:
    """The council's calendar date of an aware instant (BST or GMT as it falls)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware instant")
    return moment.astimezone(LONDON).date()


def london_midnight(day: dt.date) -> dt.datetime:
    """The instant a London calendar day begins (GMT or BST as it falls)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=LONDON)


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[dt.date]
    closures: frozenset[dt.date] = frozenset()
    weekend: frozenset[int] = frozenset({SATURDAY, SUNDAY})

    @classmethod
    def for_england(cls, years: Iterable[int], closures: Iterable[dt.date] = ()) -> Calendar:
        """Bank holidays in England (and Wales: the same days) for `years`, plus closures."""
        bank = holidays.country_holidays("GB", subdiv="ENG", years=list(years))
        return cls(holidays=frozenset(bank.keys()), closures=frozenset(closures))

    def is_working_day(self, day: dt.date) -> bool:
        return (
            day.weekday() not in self.weekend
            and day not in self.holidays
            and day not in self.closures
        )


def add_working_days(calendar: Calendar, start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (the day of `start` itself never counts).

    A message that arrives on a Saturday with a 5-day limit is due on the following
    Friday; one that arrives on Christmas Eve skips the bank holidays and closure days.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    remaining = days
    while remaining:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            remaining -= 1
    return day
