"""The bytes of a built message are what the stdlib's compat32 would write: headers that
skip folding come out as compat32 folds them, and boundaries never occur in the parts."""

import datetime as dt
import random
from email import message_from_bytes
from email.policy import Compat32

from mailbot.domain.model import Address, Attachment
from mailbot.rendering import _WIRE, Envelope, Rendered, build_message

STOCK = Compat32(linesep="\r\n", max_line_length=78)
NAMES = ("To", "Subject", "Content-Type", "X-Auto-Response-Suppress", "References")
ALPHABET = "abcXYZ019 ;,.\"'<>=?@-_\t()[]:/" + "  "


def values() -> list[str]:
    rng = random.Random(5)
    made = ["", " ", "x", " leading", "trailing ", "two  spaces", "tab\there", "caf\u00e9",
            "=?utf-8?q?caf=C3=A9?=", "line\r\nbreak", "form\x0cfeed", "a" * 200,
            'multipart/alternative; boundary="===============4215734985463870261=="']
    for _ in range(3000):
        made.append("".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 110))))
    return made


def test_headers_fold_as_compat32_does() -> None:
    for name in NAMES:
        for value in values():
            assert _WIRE.fold_binary(name, value) == STOCK.fold_binary(name, value), \
                (name, value)


def test_whole_message_as_compat32_writes_it() -> None:
    envelope = Envelope(
        from_=Address("Feedback Team", "feedback@council.example"),
        to=(Address("Zoë Résident, Esq.", "zoe@example.com"),) * 3,
        reply_to="feedback+tok@council.example", message_id="<a.b@council.example>",
        in_reply_to="<x@example.com>", references=tuple(f"<r{i}@example.com>" for i in range(9)),
        auto_submitted="auto-replied", date=dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC))
    rendered = Rendered("Your complaint – reference ABC-2026-0001 " * 3, "Dear Zoë,\n" * 40,
                        "<p>Dear Zoë,</p>\n" * 40)
    attachment = Attachment("photo.jpg", "image/jpeg", 3000, "0" * 64, bytes(range(256)) * 12)
    raw, _ = build_message(envelope, rendered, (attachment,))
    parsed = message_from_bytes(raw, policy=STOCK)
    assert parsed.as_bytes(policy=STOCK) == raw
    boundaries = [part.get_boundary() for part in parsed.walk() if part.is_multipart()]
    assert len(boundaries) == 2 and len(set(boundaries)) == 2
    for part in parsed.walk():
        if not part.is_multipart():
            assert not any(b in str(part.get_payload()) for b in boundaries)
