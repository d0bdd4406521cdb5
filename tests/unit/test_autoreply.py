"""RFC 3834: mailbot never answers robots, lists or bounces (real corpus messages)."""

import pytest

from mailbot.adapters.parse import parse_message
from mailbot.domain.autoreply import may_auto_reply
from tests.conftest import FIXTURES, MAIL

CORPUS = FIXTURES / "corpus"
SILENT = sorted(p.relative_to(CORPUS).as_posix()
                for folder in ("bounces", "autoreplies") for p in (CORPUS / folder).glob("*.eml"))
REPLIES = sorted(p.name for p in (CORPUS / "replies").glob("*.eml"))


@pytest.mark.parametrize("name", SILENT)
def test_robots_and_lists_get_no_reply(name: str) -> None:
    permission = may_auto_reply(parse_message((CORPUS / name).read_bytes()))
    assert not permission.allowed
    assert all(r.startswith("no reply: ") for r in permission.reasons)


@pytest.mark.parametrize("name", REPLIES)
def test_people_replying_may_be_answered(name: str) -> None:
    assert may_auto_reply(parse_message((CORPUS / "replies" / name).read_bytes())).allowed


def test_resident_may_be_answered() -> None:
    raw = (MAIL / "complaint_council_tenant_damp.eml").read_bytes()
    assert may_auto_reply(parse_message(raw)).allowed


@pytest.mark.parametrize(("header", "reason"), [
    ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated"),
    ("Precedence: bulk", "Precedence: bulk"),
    ("List-Id: <residents.example.org>", "list-id header present"),
    ("X-Auto-Response-Suppress: OOF", "x-auto-response-suppress header present"),
    ("Return-Path: <>", "null return path"),
    ("Return-Path: <MAILER-DAEMON@mx.example.org>", "robot address"),
])
def test_each_signal_has_its_reason(header: str, reason: str) -> None:
    raw = (f"From: a@example.com\r\n{header}\r\nSubject: hello\r\n\r\nbody\r\n").encode()
    permission = may_auto_reply(parse_message(raw))
    assert not permission.allowed
    assert any(reason in r for r in permission.reasons)


def test_auto_submitted_no_is_a_person() -> None:
    raw = b"From: a@example.com\r\nAuto-Submitted: no\r\nSubject: hello\r\n\r\nbody\r\n"
    assert may_auto_reply(parse_message(raw)).allowed


@pytest.mark.parametrize("subject", ["Out of Office: complaint", "Automatic reply: hi",
                                     "AUTO: John is out of the office",
                                     "Réponse automatique : absent"])
def test_out_of_office_subjects(subject: str) -> None:
    raw = f"From: a@example.com\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()
    assert not may_auto_reply(parse_message(raw)).allowed


@pytest.mark.parametrize("subject", ["Vacation of my council flat - deposit never returned",
                                     "Officer on annual leave and nobody answered",
                                     "Re: my complaint about the automatic gates"])
def test_subjects_that_only_look_automatic_are_answered(subject: str) -> None:
    raw = f"From: a@example.com\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()
    assert may_auto_reply(parse_message(raw)).allowed


def test_address_needing_smtputf8_is_not_answered() -> None:
    raw = "From: José <josé@example.es>\r\nSubject: queja\r\n\r\nbody\r\n".encode()
    permission = may_auto_reply(parse_message(raw))
    assert not permission.allowed and "SMTPUTF8" in permission.reasons[0]
