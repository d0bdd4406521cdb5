"""Officers work cases by replying; residents escalate. Through the intake door, on
SQLite and PostgreSQL, with real SMTP for the resident's mail."""

from __future__ import annotations

import datetime as dt
import secrets
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.services.ports import CaseFilter
from tests.conftest import MAIL, MONDAY_MORNING
from tests.integration.test_threading import headers_of, mail, outbox, send_all

SPOC = "repairs.spoc@stoke-example.gov.uk"
MEMBER = "complaints.officer@stoke-example.gov.uk"
RESIDENT = "sarah.jones@example.com"


def case_of(app: App) -> tuple[str, EmailMessage]:
    result = app.intake().ingest((MAIL / "complaint_council_tenant_damp.eml").read_bytes(),
                                 "feedback")
    return str(result.reference), headers_of(outbox(app, "routed_case")[0])


def officer(app: App, routed: EmailMessage, body: str, sender: str = SPOC,
            at: dt.datetime = MONDAY_MORNING) -> None:
    reply = mail(sender, f"Re: {routed['Subject']}", body + "\n\nOn Mon, 23 Nov 2026, "
                 "Feedback <feedback@stoke-example.gov.uk> wrote:\n> A new complaint",
                 to=routed["Reply-To"], In_Reply_To=routed["Message-ID"],
                 Message_ID=f"<{secrets.token_hex(6)}@officer.example>")
    later = App.open(app.settings.path, FixedClock(at))
    later.intake().ingest(reply, "spoc")
    later.close()


def text_of(item: dict[str, Any]) -> str:
    """The decoded plain-text part (raw is quoted-printable, wrapped at 76 characters)."""
    return str(headers_of(item).get_body(("plain",)).get_content())


def detail(app: App, reference: str) -> dict[str, Any]:
    found = app.store.case_detail(reference)
    assert found is not None
    return found


def test_respond_sends_the_response_and_records_the_outcome(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#respond outcome=partly_upheld\n\nDear Ms Jones,\nWe will treat the "
                         "mould on 1 December.", at=MONDAY_MORNING + dt.timedelta(days=3))
    case = detail(app, reference)
    assert (case["status"], case["outcome"], case["on_time"]) == ("responded", "partly_upheld",
                                                                 True)
    (response,) = outbox(app, "response")
    assert response["to"] == [RESIDENT]
    body = text_of(response)
    assert "treat the" in body and "A new complaint" not in body
    assert "Thursday 10 December 2026" in body  # stage 2 request window: 10 working days
    assert "Housing Ombudsman Service" in body
    (confirmation,) = outbox(app, "command_reply")
    assert confirmation["to"] == [SPOC] and reference in confirmation["subject"]
    assert "command_respond" in [e["kind"] for e in case["events"]]
    (listed,) = app.store.cases(CaseFilter())
    assert listed["on_time"] is True and listed["extended_days"] == 0
    assert listed["responded_at"] == "2026-11-26T10:00:00+00:00"


def test_extension_capped_unless_the_feedback_team_forces_it(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#extend 6 waiting for the surveyor")
    assert detail(app, reference)["response_due"] == "2026-12-15"
    officer(app, routed, "#extend 5 roofer delayed")
    case = detail(app, reference)
    assert case["response_due"] == "2026-12-15" and case["extended_days"] == 6
    refusal = outbox(app, "command_reply")[-1]
    assert refusal["subject"].startswith("Not done") and "over the 10 allowed" in text_of(refusal)
    officer(app, routed, "#extend 5 force roofer delayed", sender=MEMBER)
    case = detail(app, reference)
    assert case["extended_days"] == 11 and case["response_due"] == "2026-12-22"
    notices = outbox(app, "extension_notice")
    assert [n["to"] for n in notices] == [[RESIDENT], [RESIDENT]]
    assert "Tuesday 22 December 2026" in text_of(notices[-1])


def test_reassign_routes_to_the_new_spoc(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#reassign housing_tenancy\n#note tenancy matter, not repairs")
    case = detail(app, reference)
    assert case["service"] == "housing_tenancy"
    assert outbox(app, "routed_case")[-1]["to"] == ["tenancy.spoc@stoke-example.gov.uk"]
    assert any(e["kind"] == "command_note" for e in case["events"])


def test_unauthorised_and_stranger_commands_change_nothing(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#close", sender="waste.spoc@stoke-example.gov.uk")
    officer(app, routed, "#respond outcome=upheld\nsorted", sender="stranger@example.net")
    case = detail(app, reference)
    assert case["status"] == "open" and case["outcome"] is None
    replies = outbox(app, "command_reply")
    to_stranger = next(r for r in replies if r["to"] == ["stranger@example.net"])
    assert reference not in to_stranger["raw"] and "Hill Street" not in text_of(to_stranger)
    assert not outbox(app, "response")


def test_officer_reply_without_commands_is_internal(app: App) -> None:
    reference, routed = case_of(app)
    before = len(app.store.outbox())
    officer(app, routed, "Surveyor visiting on Thursday.")
    assert len(app.store.outbox()) == before
    assert "officer_message" in [e["kind"] for e in detail(app, reference)["events"]]


def resident_asks_for_review(app: App, reference: str, at: dt.datetime) -> None:
    response = headers_of(outbox(app, "response")[0])
    later = App.open(app.settings.path, FixedClock(at))
    later.intake().ingest(mail(RESIDENT, f"Re: {response['Subject']}",
                               "I am not happy with this and want it escalated.",
                               to=response["Reply-To"], In_Reply_To=response["Message-ID"]),
                          "feedback")
    later.close()


def test_stage2_within_the_window(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#respond outcome=not_upheld\nNo fault found.")
    send_all(app)
    resident_asks_for_review(app, reference, MONDAY_MORNING + dt.timedelta(days=7))
    case = detail(app, reference)
    assert (case["stage"], case["status"], case["response_due"]) == (2, "open", "2027-01-05")
    (ack,) = outbox(app, "stage2_acknowledgement")
    assert ack["to"] == [RESIDENT] and "Tuesday 5 January 2027" in text_of(ack)
    assert outbox(app, "routed_case")[-1]["to"] == [
        "complaints.investigations@stoke-example.gov.uk"]


def test_stage2_after_the_window_is_closed_with_ombudsman_details(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#respond outcome=not_upheld\nNo fault found.")
    resident_asks_for_review(app, reference, MONDAY_MORNING + dt.timedelta(days=30))
    case = detail(app, reference)
    assert (case["stage"], case["status"]) == (1, "closed")
    (closed,) = outbox(app, "window_closed")
    assert "Housing Ombudsman Service" in text_of(closed) and "0300 111 3000" in text_of(closed)
    officer(app, routed, "#stage2", sender=MEMBER, at=MONDAY_MORNING + dt.timedelta(days=31))
    assert detail(app, reference)["stage"] == 2


def test_spoofed_command_is_refused_where_the_site_checks_authentication(
        app: App, site: Path) -> None:
    site.write_text(site.read_text()
                    + '\n[security]\ntrusted_authserv_id = "mx.stoke-example.gov.uk"\n')
    reference, routed = case_of(app)
    officer(app, routed, "#close")
    assert detail(app, reference)["status"] == "open"
    refusal = outbox(app, "command_reply")[-1]
    assert "could not be confirmed" in text_of(refusal) and reference not in refusal["raw"]
    genuine = mail(SPOC, f"Re: {routed['Subject']}", "#close", to=routed["Reply-To"],
                   In_Reply_To=routed["Message-ID"],
                   Authentication_Results="mx.stoke-example.gov.uk; dkim=pass "
                   "header.d=stoke-example.gov.uk; dmarc=pass header.from=stoke-example.gov.uk")
    checked = App.open(site, FixedClock(MONDAY_MORNING))
    checked.intake().ingest(genuine, "spoc")
    checked.close()
    assert detail(app, reference)["status"] == "closed"


def test_childrens_statutory_case_runs_through_its_own_stages(app: App) -> None:
    result = app.intake().ingest((MAIL / "childrens_statutory_social_worker.eml").read_bytes(),
                                 "feedback")
    reference = str(result.reference)
    assert detail(app, reference)["kind"] == "childrens_statutory"
    routed = headers_of(next(i for i in outbox(app, "routed_case") if i["case"] == reference))
    officer(app, routed, "#respond outcome=partly_upheld\nVisits are now weekly.",
            sender="csc.spoc@stoke-example.gov.uk")
    officer(app, routed, "#stage2", sender=MEMBER, at=MONDAY_MORNING + dt.timedelta(days=2))
    case = detail(app, reference)
    assert (case["stage"], case["status"]) == (2, "open")
    assert case["response_due"] == "2027-01-07"  # 25 working days for the statutory stage 2
    officer(app, routed, "#respond outcome=not_upheld\nThe plan stands.", sender=MEMBER,
            at=MONDAY_MORNING + dt.timedelta(days=10))
    officer(app, routed, "#stage2", sender=MEMBER, at=MONDAY_MORNING + dt.timedelta(days=11))
    assert detail(app, reference)["stage"] == 3  # the review panel


def test_resident_cannot_forge_an_officer_command_with_their_own_token(app: App) -> None:
    reference, _ = case_of(app)
    ack = headers_of(outbox(app, "acknowledgement")[0])
    forged = mail(SPOC, "Re: your complaint", "#close", to=ack["Reply-To"],
                  In_Reply_To=ack["Message-ID"])
    app.intake().ingest(forged, "feedback")
    assert detail(app, reference)["status"] == "open"
    assert "command_refused" in [e["kind"] for e in detail(app, reference)["events"]]


def test_a_residents_hash_line_is_just_their_message(app: App) -> None:
    reference, _ = case_of(app)
    ack = headers_of(outbox(app, "acknowledgement")[0])
    app.intake().ingest(mail(RESIDENT, "Re: x", "#1 problem is the smell\n#2 the noise",
                             to=ack["Reply-To"], In_Reply_To=ack["Message-ID"]), "feedback")
    assert "follow_up" in [e["kind"] for e in detail(app, reference)["events"]]
    assert not outbox(app, "command_reply")


def test_respond_with_only_the_quote_is_refused(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#respond outcome=upheld")
    assert detail(app, reference)["status"] == "open" and not outbox(app, "response")
    assert "needs the response text" in text_of(outbox(app, "command_reply")[-1])


def test_commands_respect_the_case_status(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#stage2", sender=MEMBER)
    officer(app, routed, "#respond outcome=upheld\nFixed.")
    officer(app, routed, "#exclude legal proceedings")
    case = detail(app, reference)
    assert (case["stage"], case["status"], case["outcome"]) == (1, "responded", "upheld")
    assert not outbox(app, "exclusion")


def test_stage2_belongs_to_the_investigator_not_the_service(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#respond outcome=not_upheld\nNo fault found.")
    resident_asks_for_review(app, reference, MONDAY_MORNING + dt.timedelta(days=2))
    officer(app, routed, "#respond outcome=upheld\nActually fixed.")
    assert detail(app, reference)["outcome"] is None  # the stage 1 SPOC may not answer stage 2
    stage2_copy = headers_of(outbox(app, "routed_case")[-1])
    officer(app, stage2_copy, "#respond outcome=upheld\nWe got this wrong.",
            sender="complaints.investigations@stoke-example.gov.uk")
    case = detail(app, reference)
    assert (case["stage"], case["outcome"]) == (2, "upheld")
    assert "Ombudsman" in text_of(outbox(app, "response")[-1])


def test_a_passing_mention_of_review_is_not_a_stage2_request(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#respond outcome=upheld\nFixed.")
    response = headers_of(outbox(app, "response")[0])
    app.intake().ingest(mail(RESIDENT, "Re: thanks", "Thank you, I will review this with my "
                             "husband.", to=response["Reply-To"],
                             In_Reply_To=response["Message-ID"]), "feedback")
    assert detail(app, reference)["stage"] == 1


def test_adult_social_care_performance_is_measured_against_20_days(app: App) -> None:
    result = app.intake().ingest((MAIL / "adult_social_care_home_care.eml").read_bytes(),
                                 "feedback")
    reference = str(result.reference)
    case = detail(app, reference)
    assert (case["kind"], case["response_due"]) == ("adult_social_care", "2026-12-07")
    routed = headers_of(next(i for i in outbox(app, "routed_case") if i["case"] == reference))
    # Friday 11 December: after the 10 days promised, within the 20 reported against.
    officer(app, routed, "#respond outcome=upheld\nNew care agency from Monday.",
            sender="asc.spoc@stoke-example.gov.uk", at=MONDAY_MORNING + dt.timedelta(days=18))
    assert detail(app, reference)["on_time"] is True


def test_a_late_response_is_recorded_as_late_even_after_an_extension(app: App) -> None:
    reference, routed = case_of(app)
    officer(app, routed, "#extend 5 surveyor")
    officer(app, routed, "#respond outcome=upheld\nDone.",
            at=MONDAY_MORNING + dt.timedelta(days=18))  # before the extended date
    case = detail(app, reference)
    assert case["response_due"] == "2026-12-14" and case["on_time"] is False
