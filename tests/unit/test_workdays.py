"""Working days in England: weekends, bank holidays, council closures, and the clock change."""

import datetime as dt

import pytest

from mailbot.domain.rules import Rules
from mailbot.domain.workdays import (
    Calendar,
    add_working_days,
    london_date,
)

D = dt.date


def test_plain_week(calendar: Calendar) -> None:
    assert add_working_days(calendar, D(2026, 11, 23), 5) == D(2026, 11, 30)
    assert add_working_days(calendar, D(2026, 11, 23), 10) == D(2026, 12, 7)


def test_received_at_the_weekend_counts_from_monday(calendar: Calendar) -> None:
    assert add_working_days(calendar, D(2026, 11, 28), 1) == D(2026, 11, 30)
    assert add_working_days(calendar, D(2026, 11, 29), 5) == D(2026, 12, 4)


def test_christmas_week_skips_bank_holidays_and_closures(calendar: Calendar) -> None:
    # 25 Dec 2026 is a Friday, Boxing Day a Saturday, so the substitute holiday is Monday 28;
    # the example council also closes 29-31 December; 1 January is a bank holiday.
    assert add_working_days(calendar, D(2026, 12, 21), 5) == D(2027, 1, 5)
    assert add_working_days(calendar, D(2026, 12, 24), 1) == D(2027, 1, 4)
    assert add_working_days(calendar, D(2026, 12, 14), 10) == D(2027, 1, 5)


def test_christmas_without_closures_uses_bank_holidays_only() -> None:
    bare = Calendar.for_england([2026, 2027])
    assert add_working_days(bare, D(2026, 12, 24), 1) == D(2026, 12, 29)


def test_easter_2027(calendar: Calendar) -> None:
    # Good Friday 26 March 2027, Easter Monday 29 March 2027.
    assert not calendar.is_working_day(D(2027, 3, 26))
    assert not calendar.is_working_day(D(2027, 3, 29))
    assert add_working_days(calendar, D(2027, 3, 25), 1) == D(2027, 3, 30)
    assert add_working_days(calendar, D(2027, 3, 22), 10) == D(2027, 4, 7)


def test_bank_holiday_monday(calendar: Calendar) -> None:
    # Spring bank holiday: Monday 31 May 2027.
    assert add_working_days(calendar, D(2027, 5, 28), 1) == D(2027, 6, 1)
    assert not calendar.is_working_day(D(2027, 5, 31))


def test_dst_change_does_not_move_dates() -> None:
    # Clocks go back at 02:00 BST on Sunday 25 October 2026; 23:30 UTC on the Saturday
    # is 00:30 BST on Sunday in London.
    assert london_date(dt.datetime(2026, 10, 24, 23, 30, tzinfo=dt.UTC)) == D(2026, 10, 25)
    # In winter, London is UTC: 23:30 UTC is still the same day.
    assert london_date(dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.UTC)) == D(2026, 11, 23)
    # Clocks go forward on Sunday 28 March 2027: 23:30 UTC Saturday is 23:30 GMT Saturday.
    assert london_date(dt.datetime(2027, 3, 27, 23, 30, tzinfo=dt.UTC)) == D(2027, 3, 27)
    assert london_date(dt.datetime(2027, 3, 28, 23, 30, tzinfo=dt.UTC)) == D(2027, 3, 29)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        london_date(dt.datetime(2026, 11, 23, 10, 0))


def test_closures_come_from_the_rules(rules: Rules) -> None:
    assert D(2026, 12, 29) in rules.council.closures
