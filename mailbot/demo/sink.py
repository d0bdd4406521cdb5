"""The demo's outside world on SMTP: an aiosmtpd server on 127.0.0.1 that keeps every
message mailbot sends, as a numbered .eml file, and behaves like the recipients' mail
systems: an address that does not exist bounces (a delivery status notification back to
the envelope sender), and an address with an out-of-office answers with an auto-reply."""

from __future__ import annotations

import email.utils
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

Deliver = Callable[[str, bytes], object]  # (our mailbox address, raw message)
_HEADERS = BytesHeaderParser()


@dataclass
class Sent:
    number: int
    sender: str
    recipients: list[str]
    raw: bytes
    path: Path


@dataclass
class Recipients:
    """How the world answers: addresses that bounce, and addresses that are away."""

    bounce: frozenset[str] = frozenset()
    away: frozenset[str] = frozenset()


@dataclass
class Sink:
    folder: Path
    recipients: Recipients
    deliver: Deliver
    sent: list[Sent] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # what the world sent back, in words
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or b"")
        to = [str(r).lower() for r in envelope.rcpt_tos]
        with self._lock:
            number = len(self.sent) + 1
            headers = _HEADERS.parsebytes(raw)
            slug = re.sub(r"[^a-z0-9]+", "-", str(headers.get("Subject", "")).lower())[:50]
            path = self.folder / f"{number:03d}-{slug.strip('-') or 'message'}.eml"
            path.write_bytes(raw)
            self.sent.append(Sent(number, str(envelope.mail_from), to, raw, path))
        for address in to:
            if address in self.recipients.bounce:
                self.answers.append(f"the relay bounced the mail to {address}")
                self.deliver(str(envelope.mail_from), bounce(str(envelope.mail_from), address,
                                                             raw))
            elif address in self.recipients.away:  # answers even automatic mail, as many do
                reply_to = email.utils.parseaddr(str(headers.get("Reply-To") or
                                                     headers.get("From", "")))[1]
                self.answers.append(f"{address} answered with an out-of-office reply")
                self.deliver(reply_to, out_of_office(address, reply_to, headers))
        return "250 OK"


def bounce(return_path: str, failed: str, original: bytes) -> bytes:
    """An RFC 3464 report, as a relay writes one when the recipient's domain does not
    exist (written out by hand: the email package cannot build message/delivery-status)."""
    relay = "relay.stoke-example.gov.uk"
    headers = original.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].replace(b"\n", b"\r\n")
    text = f"""\
From: Mail Delivery System <MAILER-DAEMON@{relay}>
To: {return_path}
Subject: Undelivered Mail Returned to Sender
Date: {email.utils.formatdate(localtime=False)}
Message-ID: {email.utils.make_msgid(domain=relay)}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"

--dsn
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to {failed}: the domain does not exist.

--dsn
Content-Type: message/delivery-status

Reporting-MTA: dns; {relay}

Final-Recipient: rfc822; {failed}
Action: failed
Status: 5.1.2
Diagnostic-Code: smtp; 550 5.1.2 Host or domain name not found

--dsn
Content-Type: text/rfc822-headers

"""
    return text.replace("\n", "\r\n").encode() + headers + b"\r\n--dsn--\r\n"


def out_of_office(address: str, to: str, original: Message) -> bytes:
    reply = EmailMessage()
    reply["From"] = address
    reply["To"] = to
    reply["Subject"] = f"Automatic reply: {original.get('Subject', '')}"
    reply["Date"] = email.utils.formatdate(localtime=False)
    reply["Message-ID"] = email.utils.make_msgid(domain=address.rpartition("@")[2])
    reply["In-Reply-To"] = original.get("Message-ID", "")
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Auto-Response-Suppress"] = "All"
    reply.set_content("I am out of the office until Monday with no access to email.\n")
    return reply.as_bytes()


def start_sink(sink: Sink, port: int = 0) -> Controller:
    """On 127.0.0.1 only; port 0 picks a free port (read it from `controller.port`)."""
    controller = Controller(sink, hostname="127.0.0.1", port=port or _free_port())
    controller.start()
    return controller


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
