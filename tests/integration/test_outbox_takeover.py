"""Sending after a lost lock, and what `mailbot send` prints: a sender that lost the
outbox while alive is never doubled by the one that took over, and the journal never
gets a resident's address."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mailbot.adapters.db.locks import Locks
from mailbot.adapters.db.repository import SqlStore
from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.services.outbox import Control, deliver
from tests.conftest import MAIL, MONDAY_MORNING, PG_ADMIN_URL


class RecordingSender:
    """A relay that records what it accepted; the first message can be held back (a slow
    relay), so a test can act while this sender is in the middle of an SMTP transaction."""

    send_deadline = 180.0
    connections = 1

    def __init__(self, name: str, sent: list[tuple[str, bytes]],
                 hold_first: threading.Event | None = None) -> None:
        self.name, self.sent, self.hold_first = name, sent, hold_first
        self.in_send = threading.Event()

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[RecordingSender]:
        yield self

    async def send(self, envelope_from: str, recipients: tuple[str, ...], raw: bytes) -> None:
        self.in_send.set()
        if self.hold_first is not None:
            while not self.hold_first.is_set():
                await asyncio.sleep(0.05)
            self.hold_first = None
        self.sent.append((self.name, raw))


def message_id(raw: bytes) -> bytes:
    return raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_sender_that_lost_its_lock_mid_send_is_not_doubled_by_the_taker_over(
        app: App) -> None:
    """Daemon A holds the outbox lock and is in the middle of sending an item (slow relay)
    when its lock connection drops (PostgreSQL restart or failover, idle_session_timeout,
    a DBA's pg_terminate_backend). Daemon B takes the outbox and frees A's other claims,
    but not the item A is still sending; A's send completes: each message once."""
    app.intake().ingest((MAIL / "complaint_homelessness_delay.eml").read_bytes(), "feedback")
    assert len(app.store.outbox("queued")) == 2
    url = app.settings.database_url
    store_a, store_b = SqlStore(url), SqlStore(url)
    locks_a, locks_b = Locks(store_a.engine), Locks(store_b.engine)
    clock = FixedClock(MONDAY_MORNING)
    sent: list[tuple[str, bytes]] = []
    release_a = threading.Event()
    sender_a = RecordingSender("A", sent, hold_first=release_a)
    try:
        lease_a = locks_a.try_acquire("outbox")
        assert lease_a is not None
        pid = lease_a.connection.scalar(text("SELECT pg_backend_pid()"))  # type: ignore[attr-defined]
        a = threading.Thread(target=lambda: asyncio.run(
            deliver(store_a, sender_a, clock, control=Control(entitled=lease_a.held))))
        a.start()
        assert sender_a.in_send.wait(10), "A never started sending"

        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:  # A's lock connection drops
            assert connection.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        admin.dispose()
        time.sleep(0.5)

        lease_b = locks_b.try_acquire("outbox")
        assert lease_b is not None, "B could not take over the outbox"
        asyncio.run(deliver(store_b, RecordingSender("B", sent), clock,
                            control=Control(entitled=lease_b.held)))
        release_a.set()  # A's relay answers "250" after all
        a.join(10)
        lease_b.release()
        lease_a.release()
    finally:
        release_a.set()
        locks_a.close()
        locks_b.close()
        store_a.close()
        store_b.close()
    times = Counter(message_id(raw) for _, raw in sent)
    who = [(name, message_id(raw)) for name, raw in sent]
    assert max(times.values()) == 1, f"sent twice by two live processes: {who}"


def test_the_tick_unit_does_not_put_residents_addresses_in_the_journal(
        site: Path, smtp_sink: object, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """mailbot-tick.service runs `mailbot send`, whose stderr is the journal. A refused
    recipient is printed with the relay's reply, which names the resident's address (as
    aiosmtplib's error and most relays' 5.1.1 replies do)."""
    from mailbot.cli import main

    monkeypatch.setenv("MAILBOT_NOW", MONDAY_MORNING.isoformat())
    assert main(["--config", str(site), "ingest", "--mailbox", "feedback",
                 str(MAIL / "complaint_homelessness_delay.eml")]) == 0
    smtp_sink.refuse_with = ("550 5.1.1 <dean.walker@example.net>: Recipient address "  # type: ignore[attr-defined]
                             "rejected: User unknown")
    capsys.readouterr()
    main(["--config", str(site), "send"])
    out = capsys.readouterr()
    assert "dean.walker@example.net" not in out.err + out.out


