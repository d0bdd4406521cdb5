"""MP enquiries worked by email: the response goes to the MP, copies the constituent only
where the rules say so, and an MP's formal complaint escalates like a resident's. Through
the intake door on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from pathlib import Path

from mailbot.app import App
from mailbot.clock import FixedClock
from tests.conftest import MAIL, MONDAY_MORNING
from tests.integration.test_casework import MEMBER, detail, officer, text_of
from tests.integration.test_threading import headers_of, mail, outbox


def test_mp_enquiry_response_goes_to_the_mp(app: App) -> None:
    result = app.intake().ingest((MAIL / "mp_enquiry_parking.eml").read_bytes(), "feedback")
    routed = headers_of(next(i for i in outbox(app, "routed_case")
                             if i["case"] == result.reference))
    officer(app, routed, "#respond outcome=resolved\nThe permit was issued today.",
            sender="parking.spoc@stoke-example.gov.uk")
    (response,) = outbox(app, "response")
    assert response["to"] == ["jo.example.mp@parliament.uk"]
    assert detail(app, str(result.reference))["outcome"] == "resolved"


def mp_case(app: App) -> tuple[str, EmailMessage]:
    result = app.intake().ingest((MAIL / "mp_enquiry_parking.eml").read_bytes(), "feedback")
    return str(result.reference), headers_of(next(
        i for i in outbox(app, "routed_case") if i["case"] == result.reference))


def test_the_constituent_is_not_copied_unless_the_rules_say_so(app: App) -> None:
    reference, routed = mp_case(app)
    officer(app, routed, "#constituent Jane Smith <jane.smith@example.org>\n"
            "#respond outcome=resolved\nThe permit was issued today.",
            sender="parking.spoc@stoke-example.gov.uk")
    (response,) = outbox(app, "response")
    assert response["to"] == ["jo.example.mp@parliament.uk"]
    assert "Cc" not in headers_of(response) and "copy of this letter" not in text_of(response)
    assert "not copied on (rules)" in text_of(outbox(app, "command_reply")[-1])
    assert detail(app, reference)["constituent"] == {"name": "Jane Smith",
                                                     "email": "jane.smith@example.org"}


def test_the_constituent_is_copied_where_the_rules_say_so(app: App, site: Path) -> None:
    council = site.parent / "rules" / "council.toml"
    council.write_text(council.read_text().replace("copy_constituent = false",
                                                   "copy_constituent = true"))
    reference, routed = mp_case(app)
    officer(app, routed, "#constituent Jane Smith <jane.smith@example.org>",
            sender="parking.spoc@stoke-example.gov.uk")
    officer(app, routed, "#respond outcome=resolved\nThe permit was issued today.",
            sender="parking.spoc@stoke-example.gov.uk")
    (response,) = outbox(app, "response")
    assert response["to"] == ["jo.example.mp@parliament.uk", "jane.smith@example.org"]
    assert headers_of(response)["Cc"] == "Jane Smith <jane.smith@example.org>"
    assert "A copy of this letter goes to Jane Smith." in text_of(response)
    officer(app, routed, "#constituent not an address", sender="parking.spoc@stoke-example.gov.uk")
    assert "#constituent needs" in text_of(outbox(app, "command_reply")[-1])
    assert detail(app, reference)["constituent"]["email"] == "jane.smith@example.org"


def test_an_mp_complaint_is_escalated_to_stage2_by_the_mp(app: App) -> None:
    """A formal complaint an MP raises follows the complaints procedure with the MP as the
    contact, so the MP can ask for stage 2 on the constituent's behalf."""
    reference, routed = mp_case(app)
    officer(app, routed, "#reclassify complaint", sender=MEMBER)
    officer(app, routed, "#respond outcome=not_upheld\nThe restriction stands.",
            sender="parking.spoc@stoke-example.gov.uk")
    response = headers_of(outbox(app, "response")[0])
    later = App.open(app.settings.path, FixedClock(MONDAY_MORNING + dt.timedelta(days=2)))
    later.intake().ingest(mail("jo.example.mp@parliament.uk", f"Re: {response['Subject']}",
                               "My constituent is not happy with this response and asks "
                               "for it to be escalated to stage 2.",
                               to=response["Reply-To"], In_Reply_To=response["Message-ID"]),
                          "feedback")
    later.close()
    case = detail(app, reference)
    assert (case["kind"], case["stage"], case["status"]) == ("complaint", 2, "open")
    assert outbox(app, "stage2_acknowledgement")[0]["to"] == ["jo.example.mp@parliament.uk"]
