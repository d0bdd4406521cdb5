"""Plain address fields read from their text give exactly what the email package's parser
gives, over every address field in the fixtures and crafted ones near the edges."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from pathlib import Path

import pytest

from mailbot.adapters.address_text import parsed_addresses, plain_addresses
from mailbot.adapters.header_cache import PARSING_POLICY
from mailbot.adapters.parse import _raw_header

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIELDS = ("From", "Sender", "To", "Cc", "Reply-To", "Delivered-To", "X-Original-To")
CRAFTED = [
    "zoe@example.net", "Zoe Smith <zoe@example.net>", "<zoe@example.net>",
    "Zoe<zoe@example.net>", '"Smith, Zoe" <zoe@example.net>', "O'Brien <ob@example.net>",
    "a@b.example, c@d.example", "a@b.example,c@d.example", "A <a@b.example>, B <b@c.example>",
    "first.last+tag@sub.example.co.uk", "x_y-z@ex-ample.org", "  padded@example.net  ",
    '"" <empty@example.net>', '" spaced " <s@example.net>', '"a\\"b" <q@example.net>',
    "=?utf-8?q?Zo=C3=AB?= <zoe@example.net>", '"=?utf-8?q?Zo=C3=AB?=" <zoe@example.net>',
    "J. Smith <j@example.net>", "Smith (work) <j@example.net>", "j@example.net (Jo)",
    "Zoë <zoe@example.net>", "zoe@localhost", "zoe@[127.0.0.1]", "zoe@-bad-.example",
    "a@b.example,", ", a@b.example", "a@b.example,, c@d.example", "Group: a@b.example;",
    "a=b?c@example.net", "Name  Two <two@example.net>", "<a@b.example> extra", "@example.net",
    "zoe@example.net <other@example.net>", "\"unterminated <a@b.example>", "a@b.example\t",
]


def messages() -> list[tuple[str, Message]]:
    parse = BytesParser(policy=PARSING_POLICY).parsebytes
    found = [(str(p.relative_to(FIXTURES)), parse(p.read_bytes()))
             for p in sorted(FIXTURES.rglob("*.eml"))]
    found += [(f"crafted {v!r}", parse(f"{field}: {v}\r\n\r\nbody\r\n".encode()))
              for v in CRAFTED for field in ("From", "Delivered-To")]
    return found


def test_a_plain_field_reads_as_the_parser_reads_it() -> None:
    plain = checked = 0
    for label, msg in messages():
        for field in FIELDS:
            raw = _raw_header(msg, field)
            if raw is None:
                continue
            checked += 1
            pairs = plain_addresses(raw)
            if pairs is not None:
                plain += 1
                assert pairs == parsed_addresses(msg, field), (label, field, raw)
    assert checked > 900
    assert plain > checked / 2, f"only {plain} of {checked} fields were plain"


@pytest.mark.parametrize("value", ["Zoë <zoe@example.net>", "=?utf-8?q?Zo=C3=AB?= <z@x.org>",
                                   "Smith (work) <j@example.net>", "Group: a@b.example;",
                                   "zoe@localhost", "a@b.example,", '"a\\"b" <q@example.net>'])
def test_anything_not_plain_is_left_to_the_parser(value: str) -> None:
    assert plain_addresses(value) is None
