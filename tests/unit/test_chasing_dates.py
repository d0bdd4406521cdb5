"""Which due dates each chasing job looks for, in working days, around Christmas, Easter,
bank-holiday Mondays and the clock changes."""

import datetime as dt

import pytest

from mailbot.domain.chasing import (
    job_day,
    overdue_cutoff,
    reminder_dues,
    summary_day,
    window_cutoff,
    working_days_after,
)
from mailbot.domain.workdays import LONDON, Calendar

D = dt.date


@pytest.fixture
def calendar() -> Calendar:
    return Calendar.for_england(range(2026, 2028), [D(2026, 12, 29), D(2026, 12, 30),
                                                    D(2026, 12, 31)])


def test_reminders_over_christmas(calendar: Calendar) -> None:
    # Mon 4 Jan 2027 is 3 working days after Tue 22 Dec and 1 after Thu 24 Dec.
    assert D(2027, 1, 4) in reminder_dues(calendar, D(2026, 12, 22), 3)
    assert D(2027, 1, 4) in reminder_dues(calendar, D(2026, 12, 24), 1)
    assert D(2027, 1, 5) in reminder_dues(calendar, D(2027, 1, 4), 1)
    assert D(2027, 1, 4) not in reminder_dues(calendar, D(2026, 12, 23), 3)


def test_reminders_before_easter(calendar: Calendar) -> None:
    assert reminder_dues(calendar, D(2027, 3, 25), 1) == (
        D(2027, 3, 26), D(2027, 3, 27), D(2027, 3, 28), D(2027, 3, 29), D(2027, 3, 30))
    assert reminder_dues(calendar, D(2027, 3, 25), 3) == (D(2027, 4, 1),)  # 31, 30, 25 Mar


def test_overdue_and_escalation_cut_offs(calendar: Calendar) -> None:
    assert overdue_cutoff(calendar, D(2027, 1, 4), 1) == D(2027, 1, 3)
    # 5 working days late on Wed 6 Jan 2027: due Tue 22 Dec (23, 24 Dec, 4, 5, 6 Jan).
    assert overdue_cutoff(calendar, D(2027, 1, 6), 5) == D(2026, 12, 22)
    assert working_days_after(calendar, D(2026, 12, 22), D(2027, 1, 6)) == 5


def test_stage2_window_cut_off(calendar: Calendar) -> None:
    # A response on Fri 11 Dec: its 10 working days end on Mon 4 Jan, so it closes on the 5th.
    assert window_cutoff(calendar, D(2027, 1, 4), 10) == D(2026, 12, 10)
    assert window_cutoff(calendar, D(2027, 1, 5), 10) == D(2026, 12, 13)
    assert window_cutoff(calendar, D(2027, 1, 4), 0) == D(2027, 1, 3)


def test_summary_day_moves_off_a_bank_holiday_monday(calendar: Calendar) -> None:
    assert summary_day(calendar, D(2026, 11, 30), 0) == D(2026, 11, 30)
    assert summary_day(calendar, D(2027, 5, 5), 0) == D(2027, 5, 4)  # Mon 3 May is a holiday
    assert summary_day(calendar, D(2027, 3, 30), 0) == D(2027, 3, 30)  # Easter Monday
    assert summary_day(calendar, D(2026, 12, 30), 0) is None  # no working day that week


@pytest.mark.parametrize(("utc", "due"), [
    (dt.datetime(2026, 10, 23, 6, 59), False),  # 07:59 BST
    (dt.datetime(2026, 10, 23, 7, 0), True),  # 08:00 BST
    (dt.datetime(2026, 10, 26, 7, 59), False),  # 07:59 GMT, the Monday after the change
    (dt.datetime(2026, 10, 26, 8, 0), True),
    (dt.datetime(2026, 12, 25, 9, 0), False),  # Christmas Day
    (dt.datetime(2026, 10, 24, 9, 0), False),  # a Saturday
])
def test_daily_jobs_run_at_eight_london_time_on_working_days(
        calendar: Calendar, utc: dt.datetime, due: bool) -> None:
    day = job_day(calendar, utc.replace(tzinfo=dt.UTC), dt.time(8))
    assert (day is not None) is due
    if day is not None:
        assert day == utc.replace(tzinfo=dt.UTC).astimezone(LONDON).date()
