"""Every template renders for every kind and both Ombudsmen; StrictUndefined catches gaps."""

import datetime as dt
import re
from email import message_from_bytes, policy
from pathlib import Path

import jinja2
import pytest

from mailbot.domain.model import Address, Kind, NewCase, Ombudsman
from mailbot.domain.rules import Rules
from mailbot.mime import Envelope, build_message
from mailbot.rendering import TEMPLATES, Renderer, long_date
from mailbot.services.compose import case_context, salutation, snapshot_of
from mailbot.services.ports import StoredCase
from mailbot.tomlcheck import ConfigError

CHASES = ("reminder", "overdue", "escalation", "ack_warning")
REPORTS = ("weekly_summary", "digest")
WEEK = {"start": dt.date(2027, 1, 11), "previous_start": dt.date(2027, 1, 4),
        "previous_end": dt.date(2027, 1, 10)}
OVERDUE = [
    {"reference": "CF-26-4K7Q", "service": "Waste and Recycling", "due": dt.date(2026, 12, 30),
     "days_overdue": 7, "officer": "Head of Waste <b>", "directorate": "Housing, Regeneration "
     "and Operations"},
    {"reference": "CF-26-B2C3", "service": None, "due": dt.date(2027, 1, 8), "days_overdue": 1,
     "officer": "Customer Feedback Team", "directorate": None},
]


def report_context(council: object) -> dict[str, object]:
    """What the weekly summary and the digest get: no case, no Ombudsman."""
    return {
        "council": council, "week": WEEK,
        "directorate": {"name": "Housing, Regeneration and Operations"},
        "figures": {"received": 14, "responded": 9, "on_time": 7, "open": 31, "overdue": 4,
                    "due": 6},
        "overdue": OVERDUE, "more_overdue": 3,
        "due_this_week": [{"reference": "CF-27-AB12", "service": "Waste and Recycling",
                           "due": dt.date(2027, 1, 13), "officer": "Head of Waste Services"}],
        "more_due": 0,
        "rows": [{"name": "Adult Social Care, Health Integration and Wellbeing", "received": 2,
                  "responded": 0, "on_time": 0, "open": 5, "overdue": 0, "due": 1},
                 {"name": "Triage (not placed)", "received": 1, "responded": 3, "on_time": 2,
                  "open": 1, "overdue": 1, "due": 0}],
        "totals": {"received": 3, "responded": 3, "on_time": 2, "open": 6, "overdue": 1,
                   "due": 1},
    }


def context(rules: Rules, kind: Kind, ombudsman: Ombudsman | None,
            service: str | None) -> dict[str, object]:
    case = NewCase(
        kind=kind, stage=1 if kind.is_complaint else None, service=service,
        directorate=rules.services[service].directorate if service else None,
        ombudsman=ombudsman, contact=Address("Ann Example", "ann@example.com"),
        subject="Subject", received_at=dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC),
        acknowledge_due=dt.date(2026, 11, 30), acknowledged_on=dt.date(2026, 11, 23),
        response_due=dt.date(2027, 1, 11) if kind is not Kind.COMPLIMENT else None,
    )
    base = case_context(snapshot_of(case, StoredCase(1, "CF-26-4K7Q", "t" * 20)), rules)
    return {**base, "inbound": {"subject": "S", "text": "words <b>", "attachments": ["a.pdf"],
                                 "withheld": ["video.mp4 (30.0 MB)"]},
            "reasons": ["because"], "participant": False, "sender": "x@example.com",
            "follow_up_text": "words <b>", "outcome": "partly_upheld",
            "response_text": "We are sorry <b>.", "stage2_request_by": dt.date(2027, 1, 25),
            "copied_to": None,
            "final_stage": False, "new_due": dt.date(2027, 1, 18), "reason": "awaiting report",
            "days": 5, "stage2_due": dt.date(2027, 2, 8), "window_end": dt.date(2027, 1, 25),
            "reply_subject": "Done: CF-26-4K7Q", "reply_lines": ["#note on CF-26-4K7Q"],
            "show_reference": True,
            "due": dt.date(2027, 1, 11), "days_left": 3, "days_overdue": 5, "repeat_days": 7,
            "handler": "Head of Waste Services", "acknowledge_due": dt.date(2026, 11, 30),
            "acknowledged": False, "placed": service is not None,
            "aim_date": dt.date(2027, 1, 25),
            **{key: value for key, value in report_context(base["council"]).items()
               if key != "council"}}


def test_long_date() -> None:
    assert long_date(dt.date(2027, 1, 11)) == "Monday 11 January 2027"
    assert long_date(dt.date(2026, 12, 1)) == "Tuesday 1 December 2026"
    for n in range(800):  # every weekday and month, as the C locale's strftime names them
        day = dt.date(2026, 1, 1) + dt.timedelta(days=n)
        assert long_date(day) == f"{day:%A} {day.day} {day:%B %Y}"


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("service", ["housing_repairs", "waste", None])
def test_all_templates_render(template: str, kind: Kind, service: str | None,
                              rules: Rules) -> None:
    landlord = service is not None and rules.services[service].landlord
    ombudsman = (Ombudsman.HOUSING if landlord else Ombudsman.LGSCO) if kind.is_complaint \
        else None
    rendered = Renderer().render(template, context(rules, kind, ombudsman, service))
    if template not in REPORTS:
        assert "CF-26-4K7Q" in rendered.subject
    assert "CF-26-4K7Q" in rendered.text and "CF-26-4K7Q" in rendered.html
    acknowledging = template.endswith("acknowledgement")
    if ombudsman and acknowledging:
        details = rules.ombudsmen[ombudsman]
        for part in (details.name, details.website, details.phone):
            assert part in rendered.text and part in rendered.html
    dated = template in ("acknowledgement", "routed_case", "follow_up_acknowledgement",
                         "routed_follow_up")
    if dated and (kind.is_complaint or kind in (Kind.MP_ENQUIRY, Kind.COMMENT)):
        assert "Monday 11 January 2027" in rendered.text
    if template.startswith("routed"):
        assert "words &lt;b&gt;" in rendered.html
        assert "video.mp4 (30.0 MB)" in rendered.text and "video.mp4" in rendered.html
    if template == "response":
        assert "partly upheld" in rendered.text and "We are sorry &lt;b&gt;." in rendered.html
        assert "Monday 25 January 2027" in rendered.text
    if template in ("response", "extension_notice", "window_closed", "exclusion",
                    "holding_update") and ombudsman:
        assert rules.ombudsmen[ombudsman].phone in rendered.text
    if template in (*CHASES, "holding_update", *REPORTS):
        assert max(len(line) for line in rendered.text.splitlines()) <= 90
        assert "<b>" not in rendered.html
    if template in ("reminder", "overdue", "escalation"):
        assert "#respond" in rendered.text and "#extend" in rendered.html
    if template == "holding_update":
        assert "Monday 25 January 2027" in rendered.text
        assert not re.search(r"#[a-z]", rendered.text + rendered.html)  # no commands
        holder = " ".join(rendered.text.split())
        assert (rules.services[service].name if service else "our Customer Feedback Team") \
            in holder or "our independent investigating officer" in holder


@pytest.mark.parametrize("template", [*CHASES, "holding_update"])
def test_chases_need_no_inbound_message(template: str, rules: Rules) -> None:
    data = context(rules, Kind.COMPLAINT, Ombudsman.LGSCO, "waste")
    del data["inbound"]
    rendered = Renderer().render(template, data)
    assert "CF-26-4K7Q" in rendered.subject and "Waste and Recycling" in rendered.text


@pytest.mark.parametrize(("acknowledged", "placed", "says"), [
    (False, False, "not acknowledged or placed with a service"),
    (False, True, "not acknowledged ["),
    (True, False, "not placed with a service ["),
])
def test_ack_warning_says_what_is_missing(acknowledged: bool, placed: bool, says: str,
                                          rules: Rules) -> None:
    data = context(rules, Kind.COMPLAINT, None, None if not placed else "waste")
    data.update(acknowledged=acknowledged, placed=placed)
    rendered = Renderer().render("ack_warning", data)
    assert says in rendered.subject
    assert ("#reassign <service>" in rendered.text) is not placed
    assert ("#note" in rendered.text) is not acknowledged


def test_reports_render_without_a_case(rules: Rules) -> None:
    data = report_context(context(rules, Kind.COMPLAINT, None, None)["council"])
    renderer = Renderer()
    summary = renderer.render("weekly_summary", data)
    assert summary.subject == ("Weekly complaints summary: Housing, Regeneration and "
                               "Operations, week of Monday 11 January 2027")
    assert "7 (78%)" in summary.text and "7 (78%)" in summary.html
    assert "and 3 more" in summary.text and "and 3 more" in summary.html
    assert "Head of Waste &lt;b&gt;" in summary.html
    digest = renderer.render("digest", data)
    assert "Monday 11 January 2027" in digest.subject
    assert "2 (67%)" in digest.text and "2 (67%)" in digest.html
    assert "Triage (not placed)" in digest.text and "CF-26-B2C3" in digest.html
    nothing_responded = next(line for line in digest.text.splitlines()
                             if line.startswith("Adult Social Care"))
    assert "%" not in nothing_responded
    for rendered in (summary, digest):
        assert max(len(line) for line in rendered.text.splitlines()) <= 90
    data.update(overdue=[], more_overdue=0, due_this_week=[], more_due=0,
                figures=dict.fromkeys(("received", "responded", "on_time", "open", "overdue",
                                       "due"), 0))
    for name in REPORTS:
        rendered = renderer.render(name, data)
        assert "None" in rendered.text and "<p>None</p>" in rendered.html
        assert "more" not in rendered.text
    assert "%" not in renderer.render("weekly_summary", data).text


def test_missing_context_fails_loudly(rules: Rules) -> None:
    data = context(rules, Kind.COMPLAINT, Ombudsman.LGSCO, "waste")
    del data["ombudsman"]
    with pytest.raises(jinja2.UndefinedError):
        Renderer().render("acknowledgement", data)


def test_site_templates_override_packaged_ones(tmp_path: Path, rules: Rules) -> None:
    (tmp_path / "acknowledgement.subject.j2").write_text("Custom {{ case.reference }}")
    rendered = Renderer(tmp_path).render(
        "acknowledgement", context(rules, Kind.COMPLAINT, Ombudsman.LGSCO, "waste"))
    assert rendered.subject == "Custom CF-26-4K7Q"


def built_acknowledgement(rules: Rules, to: Address, in_reply_to: str | None = None,
                          references: tuple[str, ...] = ()) -> tuple[bytes, str]:
    rendered = Renderer().render("acknowledgement",
                                 context(rules, Kind.COMPLAINT, Ombudsman.LGSCO, "waste"))
    envelope = Envelope(
        from_=Address("Customer Feedback Team", "feedback@stoke-example.gov.uk"),
        to=(to,), reply_to="feedback+tok@x.gov.uk", message_id="<abc.tok@stoke-example.gov.uk>",
        in_reply_to=in_reply_to, references=references, auto_submitted="auto-replied",
        date=dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC))
    return build_message(envelope, rendered)


def test_built_message_headers(rules: Rules) -> None:
    raw, sha = built_acknowledgement(
        rules, Address("Zoë Ødegård", "zoe@example.com"), in_reply_to="<orig@example.com>",
        references=("<older@example.com>", "<orig@example.com>"))
    assert raw.isascii() and b"\r\n" in raw and len(sha) == 64
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<orig@example.com>"
    assert msg["References"] == "<older@example.com> <orig@example.com>"
    assert msg["To"] == "Zoë Ødegård <zoe@example.com>"
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/alternative", "text/plain", "text/html"]


@pytest.mark.parametrize(("name", "greeting"), [
    ("Ann Example", "Dear Ann Example,"),
    ("Visit http://evil.example for prizes", "Dear Sir or Madam,"),
    ("someone@example.com", "Dear Sir or Madam,"),
    ("", "Dear Sir or Madam,"),
])
def test_greeting_never_carries_a_link(name: str, greeting: str, rules: Rules) -> None:
    data = context(rules, Kind.COMPLAINT, Ombudsman.LGSCO, "waste")
    data["case"]["salutation"] = salutation(name)  # type: ignore[index]
    assert Renderer().render("acknowledgement", data).text.startswith(greeting)


def test_non_ascii_domain_is_sent_as_idna(rules: Rules) -> None:
    raw, _ = built_acknowledgement(rules, Address("Zoë", "zoe@bücher.example"))
    assert b"zoe@xn--bcher-kva.example" in raw


def test_template_syntax_error_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "routed_case.txt.j2").write_text("line one\n{% if %}\n")
    with pytest.raises(ConfigError, match=r"routed_case\.txt\.j2:2: "):
        Renderer(tmp_path).check()
