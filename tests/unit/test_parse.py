"""Raw bytes to Inbound: what the parser keeps, and what it refuses."""

import pytest

from mailbot.adapters.html_text import html_to_text
from mailbot.adapters.parse import parse_message, safe_filename
from mailbot.services.ports import NotAnEmail
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
    ("evil\x00name.pdf", "evilname.pdf"),
    ("tab\there.pdf", "tab_here.pdf"),
    ("", "attachment-3"),
    ("...", "attachment-3"),
])
def test_safe_filename(given: str, expected: str) -> None:
    assert safe_filename(given, 3) == expected


def test_html_to_text_survives_broken_markup() -> None:
    assert "text" in html_to_text("<p>text<div <<>")


def test_crafted_message_id_is_dropped_not_echoed() -> None:
    raw = (b"From: a@example.com\r\nSubject: x\r\n"
           b"Message-ID: =?utf-8?q?x=0D=0ABcc_:_victim@evil.example?=\r\n"
           b"In-Reply-To: <ok@example.com> trailing\r\n\r\nbody\r\n")
    inbound = parse_message(raw)
    assert inbound.message_id is None
    assert inbound.in_reply_to == "<ok@example.com>"


def test_fields_fit_every_database() -> None:
    name = "N" * 500
    raw = (f"From: {name} <a@example.com>\r\n"
           "Subject: =?utf-8?q?a=00b?=\r\n\r\nbo\x00dy\r\n").encode()
    inbound = parse_message(raw)
    assert inbound.subject == "ab" and inbound.text == "body\n"
    assert inbound.from_ is not None and len(inbound.from_.name) == 200


def test_raw_utf8_header_is_decoded() -> None:
    raw = "From: José <jose@example.com>\r\nSubject: Café closed\r\n\r\nhi\r\n".encode()
    inbound = parse_message(raw)
    assert inbound.subject == "Café closed"
    assert inbound.from_ is not None and inbound.from_.name == "José"


def test_references_are_capped() -> None:
    refs = " ".join(f"<r{i}@example.com>" for i in range(500))
    raw = f"From: a@example.com\r\nReferences: {refs}\r\nSubject: x\r\n\r\nhi\r\n".encode()
    inbound = parse_message(raw)
    assert len(inbound.references) == 50 and inbound.references[-1] == "<r499@example.com>"


def test_folded_ids_and_dates_are_read_as_they_arrived() -> None:
    raw = (b"From: =?utf-8?q?Jos=C3=A9_Garc=C3=ADa?= <jose@example.com>\r\n"
           b"To: \"Smith, John\" <john@example.com>, undisclosed-recipients:;\r\n"
           b"Message-ID:\r\n <folded-1@example.com>\r\n"
           b"References: <a@example.com>\r\n\t<b@example.com>\r\n  <c@example.com>\r\n"
           b"Date: Tue, 1 Dec 2026\r\n 10:15:00 +0000\r\nSubject: x\r\n\r\nhi\r\n")
    inbound = parse_message(raw)
    assert inbound.message_id == "<folded-1@example.com>"
    assert inbound.references == ("<a@example.com>", "<b@example.com>", "<c@example.com>")
    assert inbound.date is not None and (inbound.date.day, inbound.date.hour) == (1, 10)
    assert inbound.from_ is not None and inbound.from_.name == "José García"
    assert [(a.name, a.email) for a in inbound.to] == [("Smith, John", "john@example.com")]
