"""Raw RFC 5322 bytes to an `Inbound` value, once, tolerating whatever arrives.

Real mail is broken in every way the corpus shows (bad charsets, missing boundaries, NULs,
8-bit headers), so every header read is defensive and a failure degrades to a default
rather than an exception. Only bytes that are not an email at all are refused.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from mailbot.adapters.address_text import parsed_addresses, plain_addresses
from mailbot.adapters.header_cache import PARSING_POLICY
from mailbot.adapters.html_text import html_to_text
from mailbot.domain.model import Address, Attachment, DeliveryReport, Inbound
from mailbot.services.ports import NotAnEmail

AUTO_HEADERS = ("auto-submitted", "precedence", "list-id", "list-unsubscribe", "list-post",
                "mailing-list", "x-mailing-list", "x-auto-response-suppress", "x-autoreply",
                "x-autorespond", "sender")
# A Message-ID we store or echo in In-Reply-To/References: printable ASCII in angle
# brackets, no longer than a header line may be. Anything else is dropped, never copied,
# so a crafted id cannot smuggle a header into our replies.
_MSGID = re.compile(r"<[!-;=?-~]{1,996}>")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_UNSAFE_NAME = re.compile(r"[^\w.\- ()+,]")
_QUOTED_MSGID = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[!-;=?-~]{1,996}>)",
                           re.IGNORECASE | re.MULTILINE)
MAX_REFERENCES = 50
MAX_DEPTH = 20
MAX_QUOTED_HEADERS = 64_000
MAX_SCAN = 200_000
MAX_NAME = 200
MAX_ADDRESS = 320
MAX_SUBJECT = 998


def clean(text: str, limit: int | None = None) -> str:
    """Text that every database accepts: raw 8-bit bytes decoded as UTF-8 where they can
    be, no NULs, no line breaks in one-line fields (when `limit` is given), at most
    `limit` characters."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = text.replace("\x00", "")
    if limit is not None:
        text = " ".join(text.split())[:limit]
    return text


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # a malformed header must never stop intake
        return None
    if value is None:
        return None
    try:
        return str(value).strip()
    except Exception:
        return None


def _raw_header(msg: Message, name: str) -> str | None:
    """The first `name` field as it arrived, unfolded and not decoded: for values that are
    ASCII by definition (Message-IDs, dates, paths), which we search ourselves, so
    that the default policy's parse of each (most of the cost of parsing) is skipped."""
    name = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == name:
            return _LINE_BREAKS.sub("", str(value)).strip() if isinstance(value, str) else None
    return None


def _addresses(msg: Message, name: str) -> tuple[Address, ...]:
    """The addresses in a field: a plain one read from its text (address_text.py), any
    other as the email package parses it."""
    raw = _raw_header(msg, name)
    plain = plain_addresses(raw) if raw is not None else None
    pairs = plain if plain is not None else parsed_addresses(msg, name)
    return tuple(Address(clean(n, MAX_NAME), clean(e, MAX_ADDRESS)) for n, e in pairs
                 if "@" in e and len(e) <= MAX_ADDRESS)


def _msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.search(value)
    return found.group(0) if found else None


def _date(msg: Message) -> dt.datetime | None:
    raw = _raw_header(msg, "Date")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _decoded_text(part: Message) -> str:
    """The text of a part, surviving unknown charsets and bad transfer encodings."""
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
    except Exception:  # LookupError for bogus charsets, assorted decoding errors
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def safe_filename(name: str | None, index: int) -> str:
    """A filename that cannot climb directories or hide control characters."""
    base = (name or "").replace("\\", "/").rpartition("/")[2]
    base = _UNSAFE_NAME.sub("_", clean(base)).strip(" .")[:120]
    return base or f"attachment-{index}"


def _is_attachment(part: Message) -> bool:
    try:
        disposition = part.get_content_disposition()
        filename = part.get_filename()
    except Exception:
        return True
    return disposition == "attachment" or bool(filename)


def _leaves(part: Message, depth: int = 0) -> Iterator[Message]:
    """Leaf parts in order; an attached message (message/rfc822) is one leaf, not opened,
    so a forward keeps its original whole. Nesting deeper than any real mail is cut."""
    ctype = part.get_content_type()
    if depth > MAX_DEPTH:
        return
    if part.is_multipart() and not ctype.startswith("message/"):
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else ():
            if isinstance(sub, Message):
                yield from _leaves(sub, depth + 1)
    else:
        yield part


def _part_bytes(part: Message) -> bytes:
    if part.get_content_type().startswith("message/"):
        try:
            inner = part.get_payload()
            if isinstance(inner, list):
                return b"".join(m.as_bytes(policy=policy.compat32) for m in inner
                                if isinstance(m, Message))
        except Exception:
            return b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _delivery_report(part: Message) -> DeliveryReport | None:
    """Action, status and recipients from a message/delivery-status part."""
    try:
        blocks = [b for b in part.get_payload() if isinstance(b, Message)]
    except Exception:
        return None
    fields: dict[str, str] = {}
    recipients: list[str] = []
    for block in blocks:
        for key in ("Action", "Status", "Diagnostic-Code"):
            value = _header(block, key)
            if value and key not in fields:
                fields[key] = value
        recipient = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
        if recipient:
            recipients.append(clean(recipient.rpartition(";")[2].strip(), MAX_ADDRESS))
    if not fields and not recipients:
        return None
    return DeliveryReport(
        action=clean(fields.get("Action", ""), 20).lower(),
        status=clean(fields.get("Status", ""), 20),
        recipients=tuple(recipients),
        diagnostic=clean(fields.get("Diagnostic-Code", ""), MAX_SUBJECT),
    )


@dataclass
class _Parts:
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    report: DeliveryReport | None = None
    quoted_headers: list[str] = field(default_factory=list)


def _walk(msg: Message) -> _Parts:
    found = _Parts()
    for part in _leaves(msg):
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            found.report = found.report or _delivery_report(part)
            continue
        if ctype in ("text/plain", "text/html") and not _is_attachment(part):
            if ctype == "text/plain" and found.text is None:
                found.text = _decoded_text(part)
                continue
            if ctype == "text/html" and found.html is None:
                found.html = _decoded_text(part)
                continue
        data = _part_bytes(part)
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            found.quoted_headers.append(data[:MAX_QUOTED_HEADERS].decode("utf-8", "replace"))
        try:
            filename = part.get_filename()
        except Exception:
            filename = None
        if ctype == "message/rfc822" and not filename:
            filename = "forwarded-message.eml"
        found.attachments.append(Attachment(
            filename=safe_filename(filename, len(found.attachments) + 1),
            content_type=clean(ctype, 200),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content=data,
        ))
    return found


def _embedded_ids(texts: Iterable[str], own: str | None) -> tuple[str, ...]:
    """Message-ID headers quoted in bounces and forwards, in order, without duplicates."""
    ids: list[str] = []
    for text in texts:
        for match in _QUOTED_MSGID.finditer(text):
            value = match.group(1)
            if value != own and value not in ids:
                ids.append(value)
    return tuple(ids[:MAX_REFERENCES])


def parse_message(raw: bytes) -> Inbound:
    """Parse raw bytes, or raise NotAnEmail with a reason a person can act on."""
    if not raw.strip():
        raise NotAnEmail("empty message: no bytes besides whitespace")
    try:
        msg = BytesParser(policy=PARSING_POLICY).parsebytes(raw)
    except Exception as exc:
        raise NotAnEmail(f"cannot be parsed as an email: {exc.__class__.__name__}") from None
    if not msg.keys():
        raise NotAnEmail("not an RFC 5322 message: no header fields found")
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    parts = _walk(msg)
    text, html, attachments = parts.text, parts.html, parts.attachments
    if text is None:
        text = html_to_text(html) if html else ""
    message_id = _msgid(_raw_header(msg, "Message-ID"))
    try:
        values = msg.get_all("Authentication-Results") or ()
        auth = tuple(clean(str(v), MAX_SUBJECT) for v in values)
    except Exception:
        auth = ()
    return Inbound(
        raw=raw,
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        message_id=message_id,
        in_reply_to=_msgid(_raw_header(msg, "In-Reply-To")),
        references=tuple(_MSGID.findall(_raw_header(msg, "References") or ""))[-MAX_REFERENCES:],
        from_=senders[0] if senders else None,
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        reply_to=_addresses(msg, "Reply-To"),
        subject=clean(_header(msg, "Subject") or "", MAX_SUBJECT),
        date=_date(msg),
        text=clean(text).replace("\r\n", "\n"),
        html=clean(html) if html is not None else None,
        attachments=tuple(attachments),
        auto_headers={h: clean(v, MAX_SUBJECT) for h in AUTO_HEADERS if (v := _header(msg, h))},
        content_type=msg.get_content_type(),
        return_path=clean(path, MAX_ADDRESS) if (path := _raw_header(msg, "Return-Path")) else None,
        authentication_results=auth,
        delivery_report=parts.report,
        delivered_to=_addresses(msg, "Delivered-To") + _addresses(msg, "X-Original-To"),
        embedded_message_ids=_embedded_ids([*parts.quoted_headers, text[:MAX_SCAN]], message_id),
    )
