"""The daemon under faults: the watchdog tells a stuck sender from an idle or busy one, a
stop keeps its 10 s while the database is locked, and a standby takes over a mailbox
its reader cannot reach."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import AsyncIterator

import pytest

from mailbot.adapters.db.locks import Locks
from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.services import daemon as daemon_module
from mailbot.services.daemon import Daemon, Handlers, Pacing, Supervision
from mailbot.services.ports import MailSender
from tests.conftest import MAIL, MONDAY_MORNING


class IdleSender:
    send_deadline = 180.0
    connections = 1

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[IdleSender]:
        yield self

    async def send(self, envelope_from: str, recipients: tuple[str, ...], raw: bytes) -> None:
        raise AssertionError("nothing is queued")


def longest_silence(app: App, sender: MailSender, send_interval: float,
                    seconds: float) -> float:
    """Run the daemon for `seconds` with a 0.2 s watchdog; the longest gap between its
    keep-alives (from READY to the stop)."""
    told: list[tuple[float, str]] = []

    def notify(state: str) -> bool:
        told.append((time.monotonic(), state))
        return True

    stop = threading.Event()
    daemon = Daemon({}, Handlers(app.intake()), app.store, sender, app.clock,
                    Pacing(send_interval=send_interval, max_backoff=5), stop,
                    Supervision(notify=notify, watchdog=0.2))
    thread = threading.Thread(target=daemon.run)
    thread.start()
    time.sleep(seconds)
    stopped = time.monotonic()
    stop.set()
    thread.join(15)
    ready = [at for at, state in told if state.startswith("READY=1")]
    pings = [at for at, state in told if state == "WATCHDOG=1" and at < stopped]
    return max(b - a for a, b in itertools.pairwise([ready[0], *pings, stopped]))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_idle_sender_is_not_a_stuck_sender(app: App, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """An idle sender waiting longer than SENDER_STUCK for work is not stuck: the watchdog
    keeps pinging. Scaled down: SENDER_STUCK 1 s, send_interval 3 s."""
    monkeypatch.setattr(daemon_module, "SENDER_STUCK", 1.0)
    gap = longest_silence(app, IdleSender(), send_interval=3, seconds=5.5)
    assert gap < 1.5, f"watchdog went quiet for {gap:.1f} s while idle"


class SteadySender:
    """A relay that takes a while per message (a remote relay over TLS), but never stalls."""

    send_deadline = 180.0
    connections = 1

    def __init__(self) -> None:
        self.sent = 0

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[SteadySender]:
        yield self

    async def send(self, envelope_from: str, recipients: tuple[str, ...], raw: bytes) -> None:
        await asyncio.sleep(0.4)
        self.sent += 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sender_working_through_a_backlog_is_not_a_stuck_sender(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long outbox run that keeps making progress (a backlog after a relay outage) is
    not stuck either. Scaled: SENDER_STUCK 1 s, 0.4 s per message."""
    monkeypatch.setattr(daemon_module, "SENDER_STUCK", 1.0)
    for number in range(5):  # ten messages: acknowledgement and routed copy each
        raw = (MAIL / "complaint_homelessness_delay.eml").read_bytes().replace(
            b"Message-ID: <", f"Message-ID: <s{number}-".encode(), 1) + f"\n{number}\n".encode()
        app.intake().ingest(raw, "feedback")
    sender = SteadySender()
    gap = longest_silence(app, sender, send_interval=30, seconds=3.5)
    assert sender.sent >= 6, "the sender was making progress all along"
    assert gap < 1.5, f"watchdog went quiet for {gap:.1f} s while sending"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_stop_within_10_s_while_the_database_is_busy(app: App) -> None:
    """Another process holds SQLite's write lock (busy_timeout 10 s) while the tick at
    start-up waits for it: the stop still returns within 10 s (what the tick had not
    committed is owed at the next run)."""
    stop = threading.Event()
    later = App.open(app.settings.path, FixedClock(MONDAY_MORNING))
    holder = later.store.engine.raw_connection()  # e.g. `sqlite3 mailbot.db`, a backup
    holder.cursor().execute("BEGIN IMMEDIATE")
    daemon = Daemon({}, later.handlers(), later.store, IdleSender(), later.clock,
                    Pacing(send_interval=30, max_backoff=5), stop)
    thread = threading.Thread(target=daemon.run, daemon=True)
    try:
        thread.start()
        time.sleep(1.0)  # the tick at start-up is waiting for the write lock
        started = time.monotonic()
        stop.set()
        thread.join(40)
        took = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
        later.close()
    assert took < 10, f"run() took {took:.1f} s to return after the stop"


class EmptyMailbox:
    """A reachable mailbox with nothing new; counts the passes made over it."""

    def __init__(self, passes: list[str], who: str) -> None:
        self.name, self.passes, self.who = "feedback", passes, who

    def __enter__(self) -> EmptyMailbox:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def uidvalidity(self) -> int:
        return 1

    def pending(self) -> list[int]:
        self.passes.append(self.who)
        return []

    def fetch(self, uids: object) -> list[tuple[int, bytes]]:
        return []

    def move(self, uids: object, quarantine: bool) -> None:
        return None

    def wait_for_mail(self, stop: threading.Event) -> None:
        stop.wait(0.5)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_standby_takes_over_a_mailbox_its_reader_cannot_reach(app: App) -> None:
    """Daemon A holds mailbox `feedback` but cannot reach the IMAP server from its host;
    daemon B can. A lets the mailbox go while it backs off, so B reads it."""
    from mailbot.services.ports import SourceError
    from mailbot.services.watch import MailboxWatch

    def unreachable() -> EmptyMailbox:
        raise SourceError("mailbox feedback (imap.example:993): connection refused")

    passes: list[str] = []
    stop = threading.Event()
    locks_a, locks_b = Locks(app.store.engine), Locks(app.store.engine)
    a = MailboxWatch("feedback", unreachable, app.intake, app.store, app.clock, locks_a,
                     stop, threading.Event(), max_backoff=2)
    b = MailboxWatch("feedback", lambda: EmptyMailbox(passes, "B"), app.intake, app.store,
                     app.clock, locks_b, stop, threading.Event(), max_backoff=2)
    threads = [threading.Thread(target=a.run), threading.Thread(target=b.run)]
    threads[0].start()
    time.sleep(0.3)
    threads[1].start()
    time.sleep(12)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert "B" in passes, "the standby never read the mailbox its reader could not reach"
