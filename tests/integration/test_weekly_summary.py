"""The weekly summary and digest, through SQL and rendering, with a fixed clock on SQLite
and PostgreSQL: figures against a hand-computed week, the day it moves to after a
bank-holiday Monday, no late summaries, and replies to it kept out of casework."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from mailbot.app import App
from mailbot.services.ports import CaseFilter
from tests.integration.test_chasing import TEAM, at, open_case, set_case, text_of, tick
from tests.integration.test_threading import headers_of, mail, outbox


def figure(text: str, label: str) -> int:
    found = re.search(rf"{label}\s+(\d+)", text)
    assert found, f"{label!r} not in summary"
    return int(found.group(1))


def test_weekly_summary_figures_match_a_hand_computed_week(app: App) -> None:
    """Monday 7 December 2026, 08:00; last week is Mon 30 Nov to Sun 6 Dec (London)."""
    def case(received: dt.datetime, fixture: str = "complaint_council_tenant_damp",
             **state: Any) -> str:
        reference = open_case(app, received, fixture)
        if state:
            set_case(app, reference, **state)
        return reference

    case(at(2026, 12, 1, 10), response_due=dt.date(2026, 12, 15))                 # A
    case(at(2026, 12, 2, 10), status="responded", responded_at=at(2026, 12, 4, 12),
         on_time=True)                                                              # B
    case(at(2026, 11, 20, 10), status="responded", responded_at=at(2026, 12, 3, 12),
         on_time=False)                                                             # C
    overdue = case(at(2026, 11, 16, 10), response_due=dt.date(2026, 12, 1))       # D
    case(at(2026, 12, 6, 23, 30), response_due=dt.date(2026, 12, 21))             # E
    due = case(at(2026, 12, 7, 0, 30), response_due=dt.date(2026, 12, 9))         # F
    case(at(2026, 11, 29, 23, 59), status="closed")                                # G
    case(at(2026, 12, 2, 10), "adult_social_care_home_care", stage=2,
         response_due=dt.date(2026, 12, 10))                                       # H
    triage = case(at(2026, 12, 3, 10), "triage_unclear",
                  response_due=dt.date(2026, 12, 4))                               # I

    report = tick(app, at(2026, 12, 7, 8))
    assert report.queued["weekly_summary"] == 5 and report.queued["digest"] == 1
    summaries = {i["to"][0]: text_of(i) for i in outbox(app, "weekly_summary")}
    housing = summaries["hro.ea@stoke-example.gov.uk"]
    # Received A, B, E (F is this week, G the week before); responded B (on time) and C;
    # open A, D, E, F; overdue D (due Tue 1 Dec: 2, 3, 4, 7 Dec); due this week F.
    assert [figure(housing, label) for label in (
        "Cases received", "Responses sent", "of which on time", "Open cases", "Overdue",
        "Due this week")] == [3, 2, 1, 4, 1, 1]
    assert overdue in housing and due in housing and triage not in housing
    assert re.search(rf"{overdue}\s+1 Dec 2026\s+4\s+Housing Repairs", housing)
    adults = summaries["adults.ea@stoke-example.gov.uk"]
    assert [figure(adults, label) for label in ("Cases received", "Open cases",
                                                "Due this week")] == [1, 1, 1]
    assert "Independent Investigating" in adults, adults
    assert figure(summaries["children.ea@stoke-example.gov.uk"], "Cases received") == 0
    (digest,) = outbox(app, "digest")
    assert digest["to"] == [TEAM] and triage in text_of(digest)
    html = headers_of(digest).get_body(("html",)).get_content()
    assert "<table" in html
    assert not tick(app, at(2026, 12, 7, 15)).queued.get("weekly_summary")


def test_weekly_summary_moves_to_tuesday_after_a_bank_holiday_monday(app: App) -> None:
    assert not tick(app, at(2027, 5, 3, 9)).queued.get("weekly_summary")  # early May holiday
    assert tick(app, at(2027, 5, 4, 9)).queued["digest"] == 1
    assert not tick(app, at(2027, 5, 4, 9)).queued.get("digest")


def test_a_missed_summary_is_not_sent_late(app: App) -> None:
    assert not tick(app, at(2026, 12, 8, 9)).queued.get("weekly_summary")  # Tuesday
    assert not outbox(app, "digest")


def test_a_reply_to_the_weekly_summary_opens_no_case(app: App) -> None:
    tick(app, at(2026, 12, 7, 8))
    summary = headers_of(next(i for i in outbox(app, "weekly_summary")
                              if i["to"] == ["hro.ea@stoke-example.gov.uk"]))
    before = len(app.store.outbox())
    reply = mail("hro.ea@stoke-example.gov.uk", f"Re: {summary['Subject']}",
                 "Thanks, why is the damp complaint still open?", to=summary["Reply-To"],
                 In_Reply_To=summary["Message-ID"])
    result = app.intake().ingest(reply, "feedback")
    assert result.outcome == "quarantined" and "weekly_summary" in result.detail
    assert not app.store.cases(CaseFilter()) and len(app.store.outbox()) == before
