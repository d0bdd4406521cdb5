"""The weekly summary's figures against a hand-computed week.

Monday 7 December 2026; last week is Mon 30 Nov to Sun 6 Dec. The store's counts and
lists are given as plain rows (the SQL side is checked in tests/integration)."""

import datetime as dt

from mailbot.domain.rules import Rules
from mailbot.domain.summary import TRIAGE, Counts, OpenCase, Week, summaries, week_of
from mailbot.domain.workdays import Calendar

D = dt.date
TODAY = D(2026, 12, 7)
WEEK = Week(TODAY, D(2026, 11, 30))
COUNTS = {"housing_ops": Counts(received=3, responded=2, on_time=1, open=4),
          "adults": Counts(received=1, open=1), None: Counts(received=1, open=1)}
OVERDUE = [OpenCase("CF-26-DDDD", "housing_repairs", "housing_ops", 1, D(2026, 12, 1)),
           OpenCase("CF-26-IIII", None, None, 1, D(2026, 12, 4))]
DUE = [OpenCase("CF-26-FFFF", "waste", "housing_ops", 1, D(2026, 12, 9)),
       OpenCase("CF-26-HHHH", "adult_social_care", "adults", 2, D(2026, 12, 10))]


def test_each_directorate_gets_its_own_figures(rules: Rules, calendar: Calendar) -> None:
    per, _ = summaries(WEEK, TODAY, COUNTS, OVERDUE, DUE, rules, calendar, 100)
    housing = per["housing_ops"]
    assert housing["figures"] == {"received": 3, "responded": 2, "on_time": 1, "open": 4,
                                  "overdue": 1, "due": 1}
    # Due Tue 1 Dec: late on 2, 3, 4 and 7 Dec.
    assert housing["overdue"] == [{"reference": "CF-26-DDDD",
                                   "service": "Housing Repairs and Maintenance",
                                   "directorate": "Housing, Regeneration and Operations",
                                   "due": D(2026, 12, 1), "days_overdue": 4,
                                   "officer": "Head of Housing Repairs"}]
    assert [r["reference"] for r in housing["due_this_week"]] == ["CF-26-FFFF"]
    assert housing["week"] == {"start": TODAY, "previous_start": D(2026, 11, 30),
                               "previous_end": D(2026, 12, 6)}
    adults = per["adults"]
    assert adults["figures"] == {"received": 1, "responded": 0, "on_time": 0, "open": 1,
                                 "overdue": 0, "due": 1}
    assert adults["due_this_week"][0]["officer"] == "Independent Investigating Officer"
    assert per["children"]["figures"] == dict.fromkeys(
        ("received", "responded", "on_time", "open", "overdue", "due"), 0)


def test_the_digest_adds_triage_and_totals(rules: Rules, calendar: Calendar) -> None:
    _, digest = summaries(WEEK, TODAY, COUNTS, OVERDUE, DUE, rules, calendar, 100)
    triage = next(r for r in digest["rows"] if r["name"] == TRIAGE)
    assert (triage["received"], triage["open"], triage["overdue"], triage["due"]) == (1, 1, 1, 0)
    assert digest["totals"] == {"received": 5, "responded": 2, "on_time": 1, "open": 6,
                                "overdue": 2, "due": 2}
    assert [r["reference"] for r in digest["overdue"]] == ["CF-26-DDDD", "CF-26-IIII"]
    assert len(digest["rows"]) == len(rules.directorates) + 1


def test_long_lists_are_cut_and_counted(rules: Rules, calendar: Calendar) -> None:
    many = [OpenCase(f"CF-26-{n:04d}", "waste", "housing_ops", 1, D(2026, 11, 2) +
                     dt.timedelta(days=n % 20)) for n in range(30)]
    per, digest = summaries(WEEK, TODAY, {}, many, [], rules, calendar, 10)
    assert len(per["housing_ops"]["overdue"]) == 10 and per["housing_ops"]["more_overdue"] == 20
    assert per["housing_ops"]["figures"]["overdue"] == 30 and digest["more_overdue"] == 20
    listed = per["housing_ops"]["overdue"]
    assert listed[0]["due"] == D(2026, 11, 2)  # the longest overdue first


def test_the_summary_after_christmas_covers_the_closed_week_too(calendar: Calendar) -> None:
    """The week of 28 Dec 2026 has no working day, so no summary: the one on Monday
    4 January reports from Monday 21 December, and no case goes unreported."""
    assert week_of(D(2027, 1, 4), calendar, 0) == Week(D(2027, 1, 4), D(2026, 12, 21))
    assert week_of(TODAY, calendar, 0) == WEEK
