"""SMTP delivery with aiosmtplib: one connection per batch, errors sorted into
temporary (try again later) and permanent (mark failed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosmtplib

from mailbot.services.ports import MailSession, SendError
from mailbot.settings import SmtpSettings

# One message's whole SMTP transaction (MAIL, RCPT..., DATA) may take at most this many
# times the timeout; the outbox relies on that bound (see outbox.IN_FLIGHT_FACTOR). Within
# it the commands have no timeout of their own: aiosmtplib's per-command one is a wait_for,
# an eighth of the instructions a mail costs it, and adds nothing to this bound.
SEND_TIMEOUTS = 3


class _Session:
    def __init__(self, client: aiosmtplib.SMTP, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def send(self, envelope_from: str, recipients: tuple[str, ...], raw: bytes) -> None:
        try:
            # A timeout scope, not wait_for: wait_for makes a task of every message.
            async with asyncio.timeout(SEND_TIMEOUTS * self.timeout):
                errors, _ = await self.client.sendmail(envelope_from, list(recipients), raw,
                                                       timeout=None)
        except TimeoutError:
            raise SendError("SMTP relay did not answer in time", permanent=False) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise SendError(f"recipients refused: {exc}",
                            permanent=all(500 <= c < 600 for c in codes)) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SendError(f"{exc.code} {exc.message}", permanent=500 <= exc.code < 600) from None
        except aiosmtplib.SMTPException as exc:
            raise SendError(f"SMTP error: {exc}", permanent=False) from None
        if errors:
            refused = ", ".join(f"{r}: {c} {m}" for r, (c, m) in errors.items())
            raise SendError(f"some recipients refused: {refused}",
                            permanent=all(500 <= c < 600 for c, _ in errors.values()))


class SmtpSender:
    def __init__(self, settings: SmtpSettings, password: str | None) -> None:
        self.settings = settings
        self.password = password
        self.send_deadline = float(SEND_TIMEOUTS * settings.timeout)
        self.connections = settings.connections

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[MailSession]:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, timeout=s.timeout,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
        )
        try:
            await client.connect()
            if s.username:
                await client.login(s.username, self.password or "")
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendError(f"cannot reach SMTP relay {s.host}:{s.port}: {exc}",
                            permanent=False) from None
        try:
            yield _Session(client, s.timeout)
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
