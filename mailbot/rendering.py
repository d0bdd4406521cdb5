"""Templates to email: Jinja2 with StrictUndefined, plain text first and HTML second.

A template that names a value the context lacks fails loudly at render time (and every
template is rendered in the tests), rather than sending "Dear ," to a resident.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sys
from dataclasses import dataclass
from email.charset import QP, Charset
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)

from mailbot.domain.model import Address, Attachment
from mailbot.domain.workdays import LONDON
from mailbot.tomlcheck import ConfigError

PACKAGED_TEMPLATES = Path(__file__).parent / "templates"
TEMPLATES = ("acknowledgement", "routed_case", "follow_up_acknowledgement", "routed_follow_up",
             "response", "extension_notice", "stage2_acknowledgement", "window_closed",
             "exclusion", "command_reply", "reminder", "overdue", "escalation", "ack_warning",
             "holding_update", "weekly_summary", "digest")
PARTS = ("subject", "txt", "html")
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def long_date(day: dt.date | None) -> str:
    """As people write it in a letter: "Monday 11 January 2027"."""
    if day is None:
        return ""
    return f"{day:%A} {day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Renderer:
    def __init__(self, site_templates: Path | None = None) -> None:
        loaders = [FileSystemLoader(str(PACKAGED_TEMPLATES))]
        if site_templates is not None and site_templates != PACKAGED_TEMPLATES:
            loaders.insert(0, FileSystemLoader(str(site_templates)))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",),
                                         default_for_string=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # Compiled once by check() and never read from disk again: an edit takes effect
            # on reload (SIGHUP), all or nothing, never half-way through a running daemon.
            auto_reload=False,
            cache_size=-1,
        )
        self.env.filters["long_date"] = long_date

    def check(self) -> None:
        """Compile every template now (partials too), so a syntax error stops start-up or
        a reload, not a reply."""
        needed = [f"{name}.{part}.j2" for name in TEMPLATES for part in PARTS]
        for template in dict.fromkeys([*needed, *self.env.list_templates(extensions=["j2"])]):
            try:
                self.env.get_template(template)
            except TemplateSyntaxError as exc:
                raise ConfigError(f"{exc.filename}:{exc.lineno}: {exc.message}") from None
            except TemplateNotFound as exc:
                raise ConfigError(f"template {exc.name} not found") from None

    def render(self, name: str, context: dict[str, Any]) -> Rendered:
        subject, text, html = (self.env.get_template(f"{name}.{part}.j2").render(context)
                               for part in PARTS)
        return Rendered(" ".join(subject.split()), text, html)


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


class _Wire(Compat32):
    """compat32 as sent (CRLF, 78 columns), without the cost of folding what needs none.

    compat32 builds an email.header.Header for every header to find where to fold it,
    half the cost of building a message (profiling); a value that is one run of
    single-spaced ASCII and fits on the line comes out of that unchanged, so it is
    written as it is. Anything else is folded by compat32 itself.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        if (isinstance(value, str) and value.isascii() and value == " ".join(value.split())
                and len(name) + 2 + len(value) <= (self.max_line_length or 0)):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE = _Wire(linesep="\r\n", max_line_length=78)


def _boundary(*enclosed: str) -> str:
    """A multipart boundary in the stdlib's own form, chosen before writing.

    Left to the generator, each boundary costs compiling a regex (to check that no line
    of the parts is the boundary: a sixth of building a message); checking that it
    occurs nowhere in what it encloses is stricter and needs no regex.
    """
    while True:
        boundary = f"{'=' * 15}{secrets.randbelow(sys.maxsize):019d}=="
        if not any(boundary in text for text in enclosed):
            return boundary


def _payloads(parts: list[Message]) -> list[str]:
    """What each (non-multipart) part will be written as, encoded."""
    return [str(part.get_payload()) for part in parts]


def _text_part(body: str, subtype: str) -> MIMENonMultipart:
    """UTF-8 in quoted-printable: readable in a raw view, safe on any relay."""
    part = MIMENonMultipart("text", subtype)
    part.set_payload(body, _UTF8_QP)
    return part


def _attachment_part(attachment: Attachment) -> MIMEBase:
    maintype, _, subtype = attachment.content_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(attachment.content)
    encode_base64(part)
    name = attachment.filename
    part.add_header("Content-Disposition", "attachment",
                    filename=name if name.isascii() else ("utf-8", "", name))
    return part


def build_message(envelope: Envelope, rendered: Rendered,
                  attachments: tuple[Attachment, ...] = ()) -> tuple[bytes, str]:
    """The RFC 5322 bytes to send (CRLF, 7-bit safe) and their SHA-256.

    Built with the classic `email.mime` classes: the modern EmailMessage API re-parses
    every header it is given, which profiling showed was most of the cost of an intake.
    """
    texts: list[Message] = [_text_part(rendered.text, "plain"), _text_part(rendered.html, "html")]
    inner = _boundary(*_payloads(texts))
    body = MIMEMultipart("alternative", boundary=inner, _subparts=texts)
    msg: MIMEMultipart = body
    if attachments:
        files: list[Message] = [_attachment_part(a) for a in attachments]
        outer = _boundary(inner, *_payloads(texts), *_payloads(files))
        msg = MIMEMultipart("mixed", boundary=outer, _subparts=[body, *files])
    msg["From"] = _address(envelope.from_)
    msg["To"] = ", ".join(_address(a) for a in envelope.to)
    if envelope.cc:
        msg["Cc"] = ", ".join(_address(a) for a in envelope.cc)
    subject = _one_line(rendered.subject)
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    msg["Date"] = format_datetime(envelope.date.astimezone(LONDON))
    msg["Message-ID"] = _one_line(envelope.message_id)
    msg["Reply-To"] = _one_line(envelope.reply_to)
    if envelope.in_reply_to:
        msg["In-Reply-To"] = _one_line(envelope.in_reply_to)
    if envelope.references:
        msg["References"] = _one_line(" ".join(envelope.references))
    msg["Auto-Submitted"] = _one_line(envelope.auto_submitted)
    msg["X-Auto-Response-Suppress"] = "All"
    raw = msg.as_bytes(policy=_WIRE)
    return raw, hashlib.sha256(raw).hexdigest()
