"""Decisions for new cases from raw fixtures: kind, service, Ombudsman, dates, mail."""

import datetime as dt

import pytest

from mailbot.adapters.parse import parse_message
from mailbot.domain.decide import decide_new_case
from mailbot.domain.model import OPENING_CHARS, Decision, Kind, Ombudsman
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import LONDON, Calendar
from tests.conftest import MAIL, MONDAY_MORNING


def decide(name: str, rules: Rules, calendar: Calendar,
           now: dt.datetime = MONDAY_MORNING) -> Decision:
    return decide_new_case(parse_message((MAIL / name).read_bytes()), rules, calendar, now)


@pytest.mark.parametrize(("name", "kind", "service", "ombudsman", "stage", "due"), [
    ("complaint_council_tenant_damp.eml", Kind.COMPLAINT, "housing_repairs",
     Ombudsman.HOUSING, 1, dt.date(2026, 12, 7)),
    ("complaint_homelessness_delay.eml", Kind.COMPLAINT, "housing_solutions",
     Ombudsman.LGSCO, 1, dt.date(2026, 12, 7)),
    ("mp_enquiry_parking.eml", Kind.MP_ENQUIRY, "parking", None, None, dt.date(2026, 12, 7)),
    ("comment_library_sunday.eml", Kind.COMMENT, "libraries_leisure", None, None,
     dt.date(2026, 12, 7)),
    ("compliment_bin_crew.eml", Kind.COMPLIMENT, "waste", None, None, None),
    ("service_request_first_missed_bin.eml", Kind.SERVICE_REQUEST, "waste", None, None, None),
    ("childrens_statutory_social_worker.eml", Kind.CHILDRENS_STATUTORY,
     "childrens_social_care", Ombudsman.LGSCO, 1, dt.date(2026, 12, 7)),
    ("adult_social_care_home_care.eml", Kind.ADULT_SOCIAL_CARE, "adult_social_care",
     Ombudsman.LGSCO, 1, dt.date(2026, 12, 7)),
    ("triage_unclear.eml", Kind.COMPLAINT, None, Ombudsman.LGSCO, 1, dt.date(2026, 12, 7)),
])
def test_every_kind(name: str, kind: Kind, service: str | None, ombudsman: Ombudsman | None,
                    stage: int | None, due: dt.date | None, rules: Rules,
                    calendar: Calendar) -> None:
    decision = decide(name, rules, calendar)
    case = decision.new_case
    assert (case.kind, case.service, case.ombudsman, case.stage, case.response_due) == (
        kind, service, ombudsman, stage, due)
    assert [n.template for n in decision.notices] == ["acknowledgement", "routed_case"]


def test_triage_goes_to_feedback_team_with_reasons(rules: Rules, calendar: Calendar) -> None:
    decision = decide("triage_unclear.eml", rules, calendar)
    routed = decision.notices[1]
    assert routed.to == (rules.council.feedback_team,)
    assert any(e.kind == "triage" and "Feedback Team triage" in e.detail
               for e in decision.events)


def test_routed_copy_goes_to_the_spoc_with_attachments(rules: Rules,
                                                       calendar: Calendar) -> None:
    decision = decide("complaint_with_attachment.eml", rules, calendar)
    routed = decision.notices[1]
    assert routed.to[0].email == rules.services["highways"].spoc.email
    assert routed.forward_attachments and routed.reply_to_role == "spoc"


def test_christmas_week_deadline(rules: Rules, calendar: Calendar) -> None:
    now = dt.datetime(2026, 12, 22, 9, 0, tzinfo=LONDON)
    case = decide("complaint_homelessness_delay.eml", rules, calendar, now).new_case
    assert case.acknowledge_due == dt.date(2027, 1, 6)
    assert case.response_due == dt.date(2027, 1, 13)


def test_received_on_easter_saturday(rules: Rules, calendar: Calendar) -> None:
    now = dt.datetime(2027, 3, 27, 12, 0, tzinfo=LONDON)
    case = decide("complaint_homelessness_delay.eml", rules, calendar, now).new_case
    assert case.acknowledged_on == dt.date(2027, 3, 27)
    assert case.response_due == dt.date(2027, 4, 12)


def test_arrival_just_after_midnight_bst_counts_as_the_london_day(
        rules: Rules, calendar: Calendar) -> None:
    # 23:30 UTC on Friday 23 October 2026 is 00:30 BST on Saturday 24 October.
    now = dt.datetime(2026, 10, 23, 23, 30, tzinfo=dt.UTC)
    case = decide("complaint_homelessness_delay.eml", rules, calendar, now).new_case
    assert case.acknowledged_on == dt.date(2026, 10, 24)
    assert case.acknowledge_due == dt.date(2026, 10, 30)


def test_statutory_acknowledgement_window(rules: Rules, calendar: Calendar) -> None:
    case = decide("childrens_statutory_social_worker.eml", rules, calendar).new_case
    assert case.acknowledge_due == dt.date(2026, 11, 26)


def test_auto_reply_gets_no_mail_and_waits_in_triage(rules: Rules, calendar: Calendar) -> None:
    decision = decide("out_of_office_autoreply.eml", rules, calendar)
    assert decision.notices == ()
    assert decision.new_case.service is None
    assert decision.new_case.response_due is None
    assert any(e.kind == "no_acknowledgement" and "Auto-Submitted" in e.detail
               for e in decision.events)


def test_only_the_opening_of_a_huge_message_is_classified() -> None:
    raw = b"From: a@example.com\r\nSubject: bins\r\n\r\n" + b"word " * 1_000_000
    assert len(parse_message(raw).opening) <= OPENING_CHARS + len("bins\n")
