"""The bytes of every message mailbot sends: one shape, written directly.

Every message is multipart/alternative (plain text first, HTML second), inside
multipart/mixed when attachments are forwarded. Building it with `email.mime` objects and
the stdlib generator was most of the cost of composing (profiling: three quarters of it),
for a layout that never varies. So the layout is written here, and only what varies is
left to the stdlib: each header is folded by compat32's own `fold_binary`, bodies are
encoded by `binascii` (quoted-printable) and `base64`. The generator writes the parsed
bytes back unchanged (tests/unit/test_wire.py checks it, and that everything decodes to
what was rendered).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import secrets
import sys
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.policy import Compat32
from email.utils import format_datetime, formataddr

from mailbot.domain.model import Address, Attachment
from mailbot.domain.workdays import LONDON
from mailbot.rendering import Rendered

CRLF = "\r\n"


@dataclass(frozen=True)
class Envelope:
    """Headers that say who a message is from and how it relates to other mail."""

    from_: Address
    to: tuple[Address, ...]
    reply_to: str
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    auto_submitted: str
    date: dt.datetime
    cc: tuple[Address, ...] = ()


class _Wire(Compat32):
    """compat32 as sent (CRLF, 78 columns), without the cost of folding what needs none.

    compat32 builds an email.header.Header for every header to find where to fold it; a
    value that is one run of single-spaced ASCII and fits on the line comes out of that
    unchanged, so it is written as it is. Anything else is folded by compat32 itself.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        if isinstance(value, str) and value.isascii() and value == " ".join(value.split()):
            width = self.max_line_length or 0
            if len(name) + 2 + len(value) <= width:
                return f"{name}: {value}{self.linesep}".encode("ascii")
            # One parameter after the only space (a multipart's Content-Type and its
            # boundary): compat32 folds after the semicolon when both lines then fit.
            head, semicolon, tail = value.partition("; ")
            if semicolon and " " not in tail and len(name) + 3 + len(head) <= width \
                    and 1 + len(tail) <= width:
                return f"{name}: {head};{self.linesep} {tail}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


WIRE = _Wire(linesep=CRLF, max_line_length=78)
_Headers = list[tuple[str, str | Header]]
_Part = tuple[_Headers, str]  # headers, and the body as it is written


def _one_line(value: str) -> str:
    """No header value we write may contain a line break: that would start a new header."""
    return " ".join(value.split())


def _address(address: Address) -> str:
    """RFC 2047 for a non-ASCII display name, IDNA for a non-ASCII domain.

    A non-ASCII local part cannot be sent without SMTPUTF8; the domain refuses to answer
    such an address, so it never reaches here.
    """
    local, _, domain = address.email.rpartition("@")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return formataddr((_one_line(address.name), f"{local}@{domain}"), charset="utf-8")


def _boundary(*enclosed: str) -> str:
    """A multipart boundary in the stdlib's own form that occurs nowhere in what it
    encloses (stricter than the generator's check that no line is the boundary)."""
    while True:
        boundary = f"{'=' * 15}{secrets.randbelow(sys.maxsize):019d}=="
        if not any(boundary in text for text in enclosed):
            return boundary


def _text_part(body: str, subtype: str) -> _Part:
    """UTF-8 in quoted-printable: readable in a raw view, safe on any relay. A bare CR
    ends a line, as the stdlib's encoder has it: SMTP allows no CR outside CRLF."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(lines).decode("ascii").replace("\n", CRLF)
    return ([("MIME-Version", "1.0"), ("Content-Type", f'text/{subtype}; charset="utf-8"'),
             ("Content-Transfer-Encoding", "quoted-printable")], encoded)


def _attachment_part(attachment: Attachment) -> _Part:
    maintype, _, subtype = attachment.content_type.partition("/")
    name = attachment.filename
    disposition = Message()  # for its RFC 2231 quoting of the file name
    disposition.add_header("Content-Disposition", "attachment",
                           filename=name if name.isascii() else ("utf-8", "", name))
    encoded = base64.encodebytes(attachment.content).decode("ascii").replace("\n", CRLF)
    return ([("Content-Type", f"{maintype or 'application'}/{subtype or 'octet-stream'}"),
             ("MIME-Version", "1.0"), ("Content-Transfer-Encoding", "base64"),
             ("Content-Disposition", str(disposition["Content-Disposition"]))], encoded)


def _header(name: str, value: str | Header) -> str:
    if isinstance(value, Header):  # as compat32 folds a Header object
        return f"{name}: {value.encode(linesep=CRLF, maxlinelen=WIRE.max_line_length)}{CRLF}"
    return WIRE.fold_binary(name, value).decode("ascii")


def _headers(headers: _Headers) -> str:
    return "".join(_header(name, value) for name, value in headers)


def _multipart(subtype: str, parts: list[_Part], outer: _Headers) -> _Part:
    """The generator's layout: each part after its boundary line, the closing boundary
    after the last; `outer` are the headers that follow Content-Type and MIME-Version."""
    written = [_headers(headers) + CRLF + body for headers, body in parts]
    boundary = _boundary(*written)
    line = f"--{boundary}"
    body = (f"{line}{CRLF}" + f"{CRLF}{line}{CRLF}".join(written)
            + f"{CRLF}{line}--{CRLF}")
    return ([("Content-Type", f'multipart/{subtype}; boundary="{boundary}"'),
             ("MIME-Version", "1.0"), *outer], body)


def build_message(envelope: Envelope, body: Rendered,
                  attachments: tuple[Attachment, ...] = ()) -> tuple[bytes, str]:
    """The RFC 5322 bytes to send (CRLF, 7-bit safe) and their SHA-256."""
    subject = _one_line(body.subject)
    headers: _Headers = [("From", _address(envelope.from_)),
                         ("To", ", ".join(_address(a) for a in envelope.to))]
    if envelope.cc:
        headers.append(("Cc", ", ".join(_address(a) for a in envelope.cc)))
    # An encoded subject is folded knowing its header's name, so its first line is not
    # left empty (which some readers show as a leading space).
    headers += [("Subject", subject if subject.isascii()
                 else Header(subject, "utf-8", header_name="Subject")),
                ("Date", format_datetime(envelope.date.astimezone(LONDON))),
                ("Message-ID", _one_line(envelope.message_id)),
                ("Reply-To", _one_line(envelope.reply_to))]
    if envelope.in_reply_to:
        headers.append(("In-Reply-To", _one_line(envelope.in_reply_to)))
    if envelope.references:
        headers.append(("References", _one_line(" ".join(envelope.references))))
    headers += [("Auto-Submitted", _one_line(envelope.auto_submitted)),
                ("X-Auto-Response-Suppress", "All")]
    texts = [_text_part(body.text, "plain"), _text_part(body.html, "html")]
    if attachments:
        alternative = _multipart("alternative", texts, [])
        message = _multipart("mixed", [alternative, *map(_attachment_part, attachments)],
                             headers)
    else:
        message = _multipart("alternative", texts, headers)
    raw = (_headers(message[0]) + CRLF + message[1]).encode("ascii")
    return raw, hashlib.sha256(raw).hexdigest()
