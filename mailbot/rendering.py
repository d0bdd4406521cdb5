"""Templates to email: Jinja2 with StrictUndefined, plain text first and HTML second.

A template that names a value the context lacks fails loudly at render time (and every
template is rendered in the tests), rather than sending "Dear ," to a resident.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mailbot.domain.model import Address, Attachment
from mailbot.domain.workdays import LONDON
from mailbot.settings import PACKAGED_TEMPLATES

TEMPLATES = ("acknowledgement", "routed_case")
PARTS = ("subject", "txt", "html")


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
        )
        self.env.filters["long_date"] = long_date

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


def build_message(envelope: Envelope, rendered: Rendered,
                  attachments: tuple[Attachment, ...] = ()) -> tuple[bytes, str]:
    """The RFC 5322 bytes to send (CRLF, 7-bit safe) and their SHA-256."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = envelope.from_.formatted()
    msg["To"] = ", ".join(a.formatted() for a in envelope.to)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(envelope.date.astimezone(LONDON))
    msg["Message-ID"] = envelope.message_id
    msg["Reply-To"] = envelope.reply_to
    if envelope.in_reply_to:
        msg["In-Reply-To"] = envelope.in_reply_to
    if envelope.references:
        msg["References"] = " ".join(envelope.references)
    msg["Auto-Submitted"] = envelope.auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(rendered.text, charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    if attachments:
        msg.make_mixed()
        for attachment in attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            msg.add_attachment(attachment.content, maintype=maintype or "application",
                               subtype=subtype or "octet-stream", filename=attachment.filename)
    raw = msg.as_bytes()
    return raw, hashlib.sha256(raw).hexdigest()
