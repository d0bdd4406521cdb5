"""Review findings on the service change (locks, outbox takeover, daemon supervision, logs).

Each test is expected to FAIL against the reviewed code and pass once the defect is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
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
from mailbot.services import daemon as daemon_module
from mailbot.services.daemon import Daemon, Handlers, Pacing, Supervision
from mailbot.services.outbox import deliver, take_outbox
from tests.conftest import MAIL, MONDAY_MORNING, PG_ADMIN_URL


class RecordingSender:
    """A relay that records what it accepted; the first message can be held back (a slow
    relay), so a test can act while this sender is in the middle of an SMTP transaction."""

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
    a DBA's pg_terminate_backend). Daemon B takes the outbox, and take_outbox() gives back
    every claim, including the item A is still sending. B sends it; A's send completes too:
    the resident gets the acknowledgement twice from two live processes."""
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
        lease_a = take_outbox(store_a, locks_a)
        assert lease_a is not None
        pid = lease_a.connection.scalar(text("SELECT pg_backend_pid()"))  # type: ignore[attr-defined]
        a = threading.Thread(target=lambda: asyncio.run(
            deliver(store_a, sender_a, clock, entitled=lease_a.held)))
        a.start()
        assert sender_a.in_send.wait(10), "A never started sending"

        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:  # A's lock connection drops
            assert connection.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        admin.dispose()
        time.sleep(0.5)

        lease_b = take_outbox(store_b, locks_b)
        assert lease_b is not None, "B could not take over the outbox"
        asyncio.run(deliver(store_b, RecordingSender("B", sent), clock,
                            entitled=lease_b.held))
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


class IdleSender:
    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[IdleSender]:
        yield self

    async def send(self, envelope_from: str, recipients: tuple[str, ...], raw: bytes) -> None:
        raise AssertionError("nothing is queued")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_idle_sender_is_not_a_stuck_sender(app: App, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """The watchdog goes quiet when `_sender_seen` is older than SENDER_STUCK, but the
    sender only refreshes it once per loop, before waiting `send_interval` for work. With
    send_interval >= SENDER_STUCK (600 s; send_interval has no maximum) and a quiet
    mailbox, an idle, healthy daemon stops pinging and systemd's WatchdogSec=2min kills it
    (SIGABRT, restart) over and over. Scaled down here: SENDER_STUCK 1 s, send_interval 3 s."""
    monkeypatch.setattr(daemon_module, "SENDER_STUCK", 1.0)
    told: list[tuple[float, str]] = []

    def notify(state: str) -> bool:
        told.append((time.monotonic(), state))
        return True

    stop = threading.Event()
    daemon = Daemon({}, Handlers(app.intake()), app.store, IdleSender(), app.clock,
                    Pacing(send_interval=3, max_backoff=5), stop,
                    Supervision(notify=notify, watchdog=0.2))
    thread = threading.Thread(target=daemon.run)
    thread.start()
    time.sleep(5.5)
    stopped = time.monotonic()
    stop.set()
    thread.join(15)
    ready = [at for at, state in told if state.startswith("READY=1")]
    pings = [at for at, state in told if state == "WATCHDOG=1" and at < stopped]
    moments = [ready[0], *pings, stopped]
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert max(gaps) < 1.5, f"watchdog went quiet for {max(gaps):.1f} s while idle"


class SteadySender:
    """A relay that takes a while per message (a remote relay over TLS), but never stalls."""

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
    """`_sender_seen` is refreshed once per sender loop, not per message or batch, so a
    long but steadily progressing outbox run (a backlog after a relay outage: 600 s at
    ~1 s per message is 600 messages) silences the watchdog and systemd kills the daemon
    mid-send, again after each restart. Scaled: SENDER_STUCK 1 s, 0.4 s per message."""
    monkeypatch.setattr(daemon_module, "SENDER_STUCK", 1.0)
    for number in range(5):  # ten messages: acknowledgement and routed copy each
        raw = (MAIL / "complaint_homelessness_delay.eml").read_bytes().replace(
            b"Message-ID: <", f"Message-ID: <s{number}-".encode(), 1) + f"\n{number}\n".encode()
        app.intake().ingest(raw, "feedback")
    told: list[tuple[float, str]] = []

    def notify(state: str) -> bool:
        told.append((time.monotonic(), state))
        return True

    sender = SteadySender()
    stop = threading.Event()
    daemon = Daemon({}, Handlers(app.intake()), app.store, sender, app.clock,
                    Pacing(send_interval=30, max_backoff=5), stop,
                    Supervision(notify=notify, watchdog=0.2))
    thread = threading.Thread(target=daemon.run)
    thread.start()
    time.sleep(3.5)
    stopped = time.monotonic()
    stop.set()
    thread.join(15)
    assert sender.sent >= 6, "the sender was making progress all along"
    ready = [at for at, state in told if state.startswith("READY=1")]
    pings = [at for at, state in told if state == "WATCHDOG=1" and at < stopped]
    moments = [ready[0], *pings, stopped]
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert max(gaps) < 1.5, f"watchdog went quiet for {max(gaps):.1f} s while sending"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_stop_within_10_s_while_the_database_is_busy(app: App) -> None:
    """`run()` joins the threads for up to STOP_SECONDS (8 s) and then shuts the scheduler
    down with wait=True, which has no deadline (and APScheduler's worker threads are joined
    at interpreter exit anyway). A tick that is waiting on the database when the stop comes
    keeps the process: here another process holds SQLite's write lock (busy_timeout 10 s),
    the tick's first job waits it out, and then window_expiry (which never looks at `stop`)
    waits it out again. On PostgreSQL an unreachable server (no connect_timeout) is worse.
    systemd's TimeoutStopSec=15s then SIGKILLs it: not "exit 0 within 10 s"."""
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
    """Daemon A holds mailbox `feedback` but cannot reach the IMAP server from its host
    (firewall, DNS, routing); daemon B can. A keeps the lease through its backoff wait
    and lets go only for the instant between `finally: release()` and the next
    try_acquire(), while B looks every STANDBY_SECONDS (5 s): B never gets the mailbox and
    nobody reads it, though a healthy standby is right there."""
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
