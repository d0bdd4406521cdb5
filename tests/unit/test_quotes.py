"""Quoted history and signatures are stripped from replies written in many mail clients."""

import pytest

from mailbot.adapters.parse import parse_message
from mailbot.domain.quotes import strip_quoted
from tests.conftest import FIXTURES

REPLIES = FIXTURES / "corpus" / "replies"


@pytest.mark.parametrize("name", sorted(p.name for p in REPLIES.glob("talon__*.eml")
                                        if "share-block" not in p.name))
def test_client_replies_reduce_to_what_was_written(name: str) -> None:
    assert strip_quoted(parse_message((REPLIES / name).read_bytes()).text) == "Hello"


@pytest.mark.parametrize(("name", "expected"), [
    ("chatwoot__mail_with_quote.eml", "Yes, I am providing you step how to reproduce this issue"),
    ("helpdesk__forwarded-message.eml", "This is email body"),
])
def test_other_clients(name: str, expected: str) -> None:
    assert strip_quoted(parse_message((REPLIES / name).read_bytes()).text) == expected


def test_answer_below_the_quote_is_kept() -> None:
    assert strip_quoted("On 2 Apr 2012, Megan <m@x.com> wrote:\n> Hi\nHello") == "Hello"


def test_words_like_wrote_in_the_body_are_not_a_cut() -> None:
    text = "Here is what the officer wrote:\nthe bin will be collected"
    assert strip_quoted(text) == text


def test_signature_and_device_lines_go() -> None:
    text = "The lamp is still out.\n\nSent from my iPhone\n-- \nJo Bloggs\n07700 900123"
    assert strip_quoted(text) == "The lamp is still out."


def test_outlook_header_block() -> None:
    text = ("Thanks, that is fine.\n\n________________________________\nFrom: Feedback\n"
            "Sent: 23 November 2026 10:00\nTo: Jo\nSubject: Your complaint\n\nDear Jo")
    assert strip_quoted(text) == "Thanks, that is fine."
