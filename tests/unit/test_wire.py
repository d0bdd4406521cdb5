"""The bytes of a built message are what the stdlib's compat32 would write for it, and
they decode back to exactly what was rendered: headers, bodies and attachments."""

import datetime as dt
import random
from email import message_from_bytes, policy
from email.message import Message
from email.policy import Compat32

from mailbot.domain.model import Address, Attachment
from mailbot.mime import WIRE, Envelope, build_message
from mailbot.rendering import Rendered

STOCK = Compat32(linesep="\r\n", max_line_length=78)
NAMES = ("To", "Subject", "Content-Type", "X-Auto-Response-Suppress", "References")
ALPHABET = "abcXYZ019 ;,.\"'<>=?@-_\t()[]:/" + "  "
# What a template may put in a body: accents, dashes, emoji, '=', tabs, trailing spaces,
# lines that look like MIME or SMTP syntax, and line ends of every kind.
BODY = ["Dear Zoë,", "x" * 77, "y" * 200, "= sign", "tab\there\t", "trailing  ", "–", "😀",
        "From the top", ".", "--=====", "\r\n", "\n", "\n\n", "\r", "\x0c", " ", "Å"]


def values() -> list[str]:
    rng = random.Random(5)
    made = ["", " ", "x", " leading", "trailing ", "two  spaces", "tab\there", "caf\u00e9",
            "=?utf-8?q?caf=C3=A9?=", "line\r\nbreak", "form\x0cfeed", "a" * 200,
            'multipart/alternative; boundary="===============4215734985463870261=="']
    for _ in range(3000):
        made.append("".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 110))))
    # One parameter after the only space, at every length around where lines fold.
    for head in range(0, 90, 1):
        for tail in (0, 1, 62, 63, 64, 76, 77, 90):
            made += [f"{'t' * head}; {'p' * tail}", f"{'t' * head}; {';' * tail}",
                     f"{'t' * head};; {'p=' * (tail // 2)}", f"{'t' * head}; {'p' * tail};"]
    return made


def test_headers_fold_as_compat32_does() -> None:
    for name in NAMES:
        for value in values():
            assert WIRE.fold_binary(name, value) == STOCK.fold_binary(name, value), \
                (name, value)


def envelope(name: str = "Zoë Résident, Esq.", references: int = 9) -> Envelope:
    return Envelope(
        from_=Address("Feedback Team", "feedback@council.example"),
        to=(Address(name, "zoe@example.com"),) * 3, cc=(Address("MP", "mp@example.org"),),
        reply_to="feedback+tok@council.example", message_id="<a.b@council.example>",
        in_reply_to="<x@example.com>",
        references=tuple(f"<r{i}@example.com>" for i in range(references)),
        auto_submitted="auto-replied", date=dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC))


def leaves(raw: bytes) -> list[Message]:
    parsed = message_from_bytes(raw, policy=STOCK)
    assert parsed.as_bytes(policy=STOCK) == raw  # the generator's own layout and folding
    boundaries = [part.get_boundary() for part in parsed.walk() if part.is_multipart()]
    assert len(set(boundaries)) == len(boundaries)
    found = [part for part in parsed.walk() if not part.is_multipart()]
    for part in found:
        assert not any(b in str(part.get_payload()) for b in boundaries)
    return found


def test_whole_message_as_compat32_writes_it() -> None:
    rendered = Rendered("Your complaint – reference ABC-2026-0001 " * 3, "Dear Zoë,\n" * 40,
                        "<p>Dear Zoë,</p>\n" * 40)
    files = (Attachment("photo.jpg", "image/jpeg", 3000, "0" * 64, bytes(range(256)) * 12),
             Attachment("plan é.pdf", "", 3, "0" * 64, b"pdf"))
    raw, _ = build_message(envelope(), rendered, files)
    plain, html, photo, plan = leaves(raw)
    assert [p.get_content_type() for p in (plain, html, photo, plan)] == [
        "text/plain", "text/html", "image/jpeg", "application/octet-stream"]
    assert photo.get_payload(decode=True) == files[0].content
    assert (photo.get_filename(), plan.get_filename()) == ("photo.jpg", "plan é.pdf")
    assert plan.get_payload(decode=True) == b"pdf"


def lines(body: str) -> str:
    return body.replace("\r\n", "\n").replace("\r", "\n")


def test_bodies_and_headers_decode_to_what_was_rendered() -> None:
    rng = random.Random(7)
    for _ in range(300):
        text, html = ("".join(rng.choice(BODY) for _ in range(rng.randrange(0, 30)))
                      for _ in range(2))
        subject = "".join(rng.choice(BODY[:9]) + " " for _ in range(rng.randrange(1, 12)))
        name = "".join(rng.choice(ALPHABET + "éø") for _ in range(rng.randrange(0, 40)))
        raw, _ = build_message(envelope(name, rng.randrange(0, 30)),
                               Rendered(subject, text, html))
        assert raw.isascii() and b"\n" not in raw.replace(b"\r\n", b"")
        plain, markup = leaves(raw)
        for part, body in ((plain, text), (markup, html)):
            decoded = part.get_payload(decode=True).decode("utf-8")
            assert decoded.replace("\r\n", "\n") == lines(body)
        parsed = message_from_bytes(raw, policy=policy.default)
        # strip(): compat32 starts a subject that is one unbreakable word on a new line
        assert parsed["Subject"].strip() == " ".join(subject.split())
        assert parsed["To"].addresses[0].display_name == " ".join(name.split())
        assert parsed["Reply-To"] == "feedback+tok@council.example"
