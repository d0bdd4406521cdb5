"""A relay that answers every command, each just inside the per-command timeout, still
cannot hold one message's transaction past the sender's deadline: the outbox's takeover of
a dead sender's message in flight waits exactly that long (outbox.IN_FLIGHT_FACTOR)."""

from __future__ import annotations

import asyncio
import time

import pytest

from mailbot.adapters.smtp_sender import SmtpSender
from mailbot.services.ports import SendError
from mailbot.settings import SmtpSettings

ANSWER_AFTER = 0.8  # seconds, for every command but the greeting and EHLO


async def _slow_relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Just enough SMTP for aiosmtplib, each answer of a transaction sent late."""
    writer.write(b"220 slow.example ESMTP\r\n")
    in_data = False
    while line := await reader.readline():
        if in_data:
            if line == b".\r\n":
                in_data = False
                await asyncio.sleep(ANSWER_AFTER)
                writer.write(b"250 queued\r\n")
            continue
        verb = line[:4].upper()
        if verb == b"EHLO":
            writer.write(b"250-slow.example\r\n250 8BITMIME\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            break
        else:
            await asyncio.sleep(ANSWER_AFTER)
            in_data = verb == b"DATA"
            writer.write(b"354 go on\r\n" if in_data else b"250 ok\r\n")
        await writer.drain()
    writer.close()


def test_a_relay_answering_each_command_in_time_is_cut_off_at_the_deadline() -> None:
    async def send() -> float:
        server = await asyncio.start_server(_slow_relay, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        settings = SmtpSettings(host="127.0.0.1", port=port, security="none", username=None,
                                password_env=None, sender="feedback@council.example",
                                timeout=1)
        sender = SmtpSender(settings, None)
        started = time.monotonic()
        async with server, sender.connect() as session:
            with pytest.raises(SendError) as refused:
                await session.send("bounces@council.example", ("a@example.com",),
                                   b"Subject: x\r\n\r\nhello\r\n")
            took = time.monotonic() - started
            assert not refused.value.permanent
            assert "in time" in str(refused.value)
        return took

    took = asyncio.run(send())
    # MAIL, RCPT, DATA and the end of data at 0.8 s each would take 3.2 s: cut at 3.
    assert 2.9 <= took < 3.2
