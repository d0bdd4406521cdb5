"""Replies, follow-ups, officers, robots and bounces find their case, safely,
through the single intake door, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from mailbot.app import App
from mailbot.services.outbox import deliver
from mailbot.services.ports import CaseFilter
from tests.conftest import MAIL, MONDAY_MORNING

RESIDENT = "sarah.jones@example.com"


def outbox(app: App, template: str) -> list[dict[str, Any]]:
    return [i for i in app.store.outbox() if i["template"] == template]


def headers_of(item: dict[str, Any]) -> EmailMessage:
    return message_from_bytes(item["raw"].encode(), policy=policy.default)  # type: ignore[return-value]


def mail(sender: str, subject: str, body: str, to: str = "feedback@stoke-example.gov.uk",
         **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


def open_case(app: App) -> tuple[str, EmailMessage]:
    result = app.intake().ingest((MAIL / "complaint_council_tenant_damp.eml").read_bytes(),
                                 "feedback")
    return str(result.reference), headers_of(outbox(app, "acknowledgement")[0])


def send_all(app: App) -> None:
    asyncio.run(deliver(app.store, app.sender(), app.clock))


def events(app: App, reference: str) -> list[str]:
    case = app.store.case_detail(reference)
    assert case is not None
    return [e["kind"] for e in case["events"]]


def test_reply_to_acknowledgement_joins_and_is_acknowledged_once(app: App) -> None:
    reference, ack = open_case(app)
    reply = mail(RESIDENT, f"Re: {ack['Subject']}",
                 "The mould is now in the kitchen too.\n\nOn Mon, 23 Nov 2026 at 10:00, "
                 "Customer Feedback Team <feedback@stoke-example.gov.uk> wrote:\n> Dear Sarah",
                 In_Reply_To=ack["Message-ID"], References=ack["Message-ID"])
    result = app.intake().ingest(reply, "feedback")
    assert (result.outcome, result.reference) == ("threaded", reference)
    detail = app.store.case_detail(reference)
    assert detail is not None
    inbound = [m for m in detail["messages"] if m["direction"] == "in"]
    assert inbound[-1]["text"] == "The mould is now in the kitchen too."
    second = mail(RESIDENT, "Re: again", "And the bathroom.", In_Reply_To=ack["Message-ID"])
    assert app.intake().ingest(second, "feedback").outcome == "threaded"
    assert [i["to"] for i in outbox(app, "follow_up_acknowledgement")] == [[RESIDENT]]
    routed = outbox(app, "routed_follow_up")
    assert [i["to"] for i in routed] == [["repairs.spoc@stoke-example.gov.uk"]] * 2
    assert "kitchen too" in routed[0]["raw"] and "Dear Sarah" not in routed[0]["raw"]
    assert events(app, reference).count("follow_up") == 2
    assert len(app.store.cases(CaseFilter())) == 1


def test_reply_token_in_the_address_joins(app: App) -> None:
    reference, ack = open_case(app)
    reply = mail(RESIDENT, "photos", "Photos attached", to=ack["Reply-To"])
    assert app.intake().ingest(reply, "feedback").reference == reference


def test_reference_typed_by_the_contact_joins(app: App) -> None:
    reference, _ = open_case(app)
    typed = mail(RESIDENT, f"my complaint {reference.lower()}", "Any news?")
    assert app.intake().ingest(typed, "feedback").reference == reference


def test_reference_typed_by_a_stranger_opens_a_new_case_and_reveals_nothing(app: App) -> None:
    reference, _ = open_case(app)
    probe = mail("nosy@example.net", f"Update on {reference}?", "What is happening with it?")
    result = app.intake().ingest(probe, "feedback")
    assert result.outcome == "case" and result.reference != reference
    assert "claimed_reference" in events(app, str(result.reference))
    to_stranger = [i for i in app.store.outbox() if i["to"] == ["nosy@example.net"]]
    assert len(to_stranger) == 1
    for secret in ("Hill Street", "Sarah", "Housing Repairs", "housing-ombudsman"):
        assert secret not in to_stranger[0]["raw"]  # only what they wrote themselves
    triage = [i for i in outbox(app, "routed_case") if i["case"] == result.reference]
    assert triage[0]["to"] == ["feedback@stoke-example.gov.uk"]


def test_officer_reply_in_the_spoc_mailbox_is_casework(app: App) -> None:
    reference, _ = open_case(app)
    routed = headers_of(outbox(app, "routed_case")[0])
    reply = mail("repairs.spoc@stoke-example.gov.uk", f"Re: {routed['Subject']}",
                 "Surveyor booked for Thursday.", to=routed["Reply-To"],
                 In_Reply_To=routed["Message-ID"])
    before = len(app.store.outbox())
    assert app.intake().ingest(reply, "spoc").reference == reference
    assert len(app.store.outbox()) == before
    assert "officer_message" in events(app, reference)


def test_out_of_office_reply_is_kept_and_never_answered(app: App) -> None:
    reference, ack = open_case(app)
    ooo = mail(RESIDENT, "Automatic reply: We have received your complaint",
               "I am away until Monday.", In_Reply_To=ack["Message-ID"],
               Auto_Submitted="auto-replied")
    before = len(app.store.outbox())
    assert app.intake().ingest(ooo, "feedback").reference == reference
    assert len(app.store.outbox()) == before
    assert "no_acknowledgement" in events(app, reference)


def dsn_for(item: dict[str, Any]) -> bytes:
    return (b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
            b"To: feedback@stoke-example.gov.uk\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/report; "
            b"report-type=delivery-status; boundary=\"XX\"\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            b"--XX\r\nContent-Type: message/delivery-status\r\n\r\n"
            b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
            b"Final-Recipient: rfc822; sarah.jones@example.com\r\nAction: failed\r\n"
            b"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
            b"--XX\r\nContent-Type: message/rfc822\r\n\r\n" + item["raw"].encode() +
            b"\r\n--XX--\r\n")


def test_a_bounce_for_mail_never_sent_changes_nothing(app: App) -> None:
    reference, _ = open_case(app)
    item = outbox(app, "acknowledgement")[0]
    app.intake().ingest(dsn_for(item), "feedback")
    assert next(i for i in app.store.outbox() if i["id"] == item["id"])["status"] == "queued"
    assert "bounce_ignored" in events(app, reference)


def test_bounce_of_our_acknowledgement_marks_it_failed(app: App) -> None:
    reference, _ = open_case(app)
    send_all(app)
    item = outbox(app, "acknowledgement")[0]
    dsn = dsn_for(item)
    before = len(app.store.outbox())
    assert app.intake().ingest(dsn, "feedback").reference == reference
    failed = next(i for i in app.store.outbox() if i["id"] == item["id"])
    assert failed["status"] == "failed" and "5.1.1" in failed["error"]
    assert len(app.store.outbox()) == before
    assert {"bounce", "delivery_failed"} <= set(events(app, reference))


def test_bounce_that_quotes_nothing_is_traced_by_its_address(app: App) -> None:
    reference, _ = open_case(app)
    item = outbox(app, "routed_case")[0]
    with app.store.transaction() as tx:  # the VERP address is the envelope sender we use
        claimed = tx.claim_due(MONDAY_MORNING, 10, dt.timedelta(minutes=1), "test")
        for queued in claimed:
            tx.mark_sent(queued.id, MONDAY_MORNING)
    verp = next(c.envelope_from for c in claimed if c.id == item["id"])
    assert "+b-" in verp
    plain = mail("postmaster@mx.example.com", "failure notice",
                 "Sorry, we were unable to deliver your message.", to=verp)
    assert app.intake().ingest(plain, "feedback").reference == reference
    assert next(i for i in app.store.outbox() if i["id"] == item["id"])["status"] == "failed"


def test_acknowledgements_are_rate_limited_per_sender(app: App) -> None:
    intake = app.intake()
    for n in range(4):
        intake.ingest(mail("busy@example.com", f"Pothole number {n}",
                           f"There is a pothole on Leek Road near number {n}, please fix it."),
                      "feedback")
    acks = [i for i in outbox(app, "acknowledgement") if i["to"] == ["busy@example.com"]]
    assert len(acks) == 3
    assert len(outbox(app, "routed_case")) == 4
    cases = app.store.cases(CaseFilter())
    limited = [c for c in cases if "no_acknowledgement" in events(app, c["reference"])]
    assert len(limited) == 1


def test_someone_else_replying_through_the_token_gets_nothing_back(app: App) -> None:
    reference, ack = open_case(app)
    other = mail("neighbour@example.org", "Re: complaint", "I live next door, same problem.",
                 to=ack["Reply-To"])
    assert app.intake().ingest(other, "feedback").reference == reference
    assert not [i for i in app.store.outbox() if i["to"] == ["neighbour@example.org"]]
    routed = outbox(app, "routed_follow_up")
    assert len(routed) == 1 and "not the case's contact" in routed[0]["raw"]


def test_resident_subject_that_sounds_like_a_bounce_is_a_follow_up(app: App) -> None:
    reference, ack = open_case(app)
    reply = mail(RESIDENT, "Re: Non-delivery of my council tax bill", "It never came.",
                 In_Reply_To=ack["Message-ID"])
    app.intake().ingest(reply, "feedback")
    assert "follow_up" in events(app, reference)
    assert {i["status"] for i in app.store.outbox()} == {"queued"}


def test_text_bounce_opening_a_case_is_never_answered(app: App) -> None:
    bounce = mail("admin@mx.example.org", "Undeliverable: your message",
                  "Delivery has failed to these recipients.")
    result = app.intake().ingest(bounce, "feedback")
    assert not [i for i in app.store.outbox() if i["to"] == ["admin@mx.example.org"]]
    assert "bounce" in events(app, str(result.reference))


def test_someone_who_joined_through_the_token_never_becomes_a_participant(app: App) -> None:
    reference, ack = open_case(app)
    for n in range(2):
        app.intake().ingest(mail("neighbour@example.org", f"Re: complaint {n}",
                                 f"Same problem here ({n}).", to=ack["Reply-To"]), "feedback")
    assert not [i for i in app.store.outbox() if i["to"] == ["neighbour@example.org"]]
    typed = app.intake().ingest(mail("neighbour@example.org", f"About {reference}", "News?"),
                                "feedback")
    assert typed.reference != reference


def test_acknowledgement_limit_counts_the_reply_to_address(app: App) -> None:
    for n in range(6):
        app.intake().ingest(mail(f"forger{n}@example.net", f"Pothole {n}",
                                 f"Pothole on Leek Road number {n}, please fix.",
                                 Reply_To="victim@example.com"), "feedback")
    acks = [i for i in outbox(app, "acknowledgement") if i["to"] == ["victim@example.com"]]
    assert len(acks) == 3


def test_same_message_id_and_sender_with_new_words_is_a_new_message(app: App) -> None:
    first = mail("scanner@example.com", "Scan", "Page one: my bin was missed.",
                 Message_ID="<fixed@scanner>")
    second = mail("scanner@example.com", "Scan", "Page two: the pothole on Leek Road.",
                  Message_ID="<fixed@scanner>")
    assert app.intake().ingest(first, "feedback").outcome == "case"
    assert app.intake().ingest(second, "feedback").outcome == "case"
    again = app.intake().ingest(second.replace(b"Subject:", b"X-Trace: relay2\nSubject:"),
                                "feedback")
    assert again.outcome == "duplicate"
