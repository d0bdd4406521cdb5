"""Raw bytes to Inbound: what the parser keeps, and what it refuses."""

import pytest

from mailbot.adapters.parse import NotAnEmail, html_to_text, parse_message, safe_filename
from tests.conftest import FIXTURES, MAIL


def test_plain_message() -> None:
    inbound = parse_message((MAIL / "complaint_council_tenant_damp.eml").read_bytes())
    assert inbound.message_id == "<damp-1@mail.example.com>"
    assert inbound.from_ is not None and inbound.from_.email == "sarah.jones@example.com"
    assert inbound.from_.name == "Sarah Jones"
    assert inbound.subject == "Black mould in my flat again"
    assert "council tenant" in inbound.text
    assert inbound.attachments == ()
    assert inbound.date is not None and inbound.date.year == 2026


def test_attachment_kept_with_a_safe_name() -> None:
    inbound = parse_message((MAIL / "complaint_with_attachment.eml").read_bytes())
    (attachment,) = inbound.attachments
    assert attachment.filename == "pothole photo.png"
    assert attachment.content_type == "image/png"
    assert attachment.size == len(attachment.content) > 1000
    assert "burst my tyre" in inbound.text


def test_auto_headers_collected() -> None:
    inbound = parse_message((MAIL / "out_of_office_autoreply.eml").read_bytes())
    assert inbound.auto_headers["auto-submitted"] == "auto-replied"
    assert inbound.auto_headers["x-auto-response-suppress"] == "All"


def test_html_only_mail_gets_text() -> None:
    raw = (b"From: a@example.com\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n"
           b"<html><head><style>p{}</style></head><body><p>Bins&nbsp;missed</p>"
           b"<p>again</p></body></html>")
    inbound = parse_message(raw)
    assert inbound.text == "Bins missed\n\nagain"
    assert inbound.html is not None


@pytest.mark.parametrize(("name", "reason"), [
    ("empty.eml", "empty message"),
    ("garbage_binary.eml", "no header fields"),
])
def test_not_an_email(name: str, reason: str) -> None:
    with pytest.raises(NotAnEmail, match=reason):
        parse_message((MAIL / name).read_bytes())


def test_no_sender_is_kept_without_one() -> None:
    inbound = parse_message(b"Subject: orphan\r\nTo: feedback@example.org\r\n\r\nHello\r\n")
    assert inbound.from_ is None and inbound.contact is None
    assert inbound.text == "Hello\n"


def test_real_world_bounce_parses() -> None:
    raw = (FIXTURES / "corpus/bounces/sisimai__lhost-sendmail-01.eml").read_bytes()
    inbound = parse_message(raw)
    assert inbound.content_type == "multipart/report"


@pytest.mark.parametrize(("given", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\report.pdf", "report.pdf"),
    ("evil\x00name.pdf", "evil_name.pdf"),
    ("", "attachment-3"),
    ("...", "attachment-3"),
])
def test_safe_filename(given: str, expected: str) -> None:
    assert safe_filename(given, 3) == expected


def test_html_to_text_survives_broken_markup() -> None:
    assert "text" in html_to_text("<p>text<div <<>")
