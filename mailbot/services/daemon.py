"""`mailbot run`: every mailbox in its own thread, the outbox sender, and the scheduled jobs.

Mailboxes are watched as watch.py describes; new cases wake the sender at once, so an
acknowledgement leaves seconds after the resident's message arrived. Several daemons may
share one database: each mailbox is read by one of them at a time, one sends the outbox
and one runs the jobs at a time, through the named locks of adapters/db/locks.py.

The main thread owns the lifecycle: it tells systemd when it is ready and that it is still
alive, reloads rules and templates when asked (keeping the old ones if the new ones are
bad), and on a stop request lets every thread finish the message in hand and exits within
STOP_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler

from mailbot import heap
from mailbot.clock import Clock
from mailbot.domain.workdays import london_date
from mailbot.services.chasing import Chasing
from mailbot.services.intake import Intake
from mailbot.services.outbox import Control, deliver
from mailbot.services.ports import (
    Lease,
    Locks,
    MailSender,
    MailSource,
    NoLocks,
    SendError,
    Store,
)
from mailbot.services.schedule import start_schedule
from mailbot.services.watch import MailboxWatch

log = logging.getLogger(__name__)
STOP_SECONDS = 8.0  # systemd's default stop timeout is 90 s; we promise 10
SENDER_STUCK = 600.0  # seconds on one message before the watchdog lets systemd act


@dataclass(frozen=True)
class Pacing:
    send_interval: float
    max_backoff: float


@dataclass(frozen=True)
class Handlers:
    """What rules and templates are baked into; built again on reload."""

    intake: Intake
    chasing: Chasing | None = None


def _quiet(_state: str) -> bool:
    return False


@dataclass(frozen=True)
class Supervision:
    """How the daemon is looked after: where fresh handlers come from on reload, and how
    systemd is told about readiness and liveness (every `watchdog` seconds)."""

    reload: Callable[[], Handlers] | None = None
    notify: Callable[[str], bool] = _quiet
    watchdog: float | None = None


class Daemon:
    def __init__(self, sources: dict[str, Callable[[], MailSource]], handlers: Handlers,
                 store: Store, sender: MailSender, clock: Clock, pacing: Pacing,
                 stop: threading.Event, supervision: Supervision = Supervision(),
                 locks: Locks | None = None) -> None:
        self.sources = sources
        self.handlers = handlers
        self.store = store
        self.sender = sender
        self.clock = clock
        self.pacing = pacing
        self.stop = stop
        self.supervision = supervision
        self.notify = supervision.notify
        self.locks = locks or NoLocks()
        self._outbox: Lease | None = None
        self.wake = threading.Event()
        self.reload_requested = threading.Event()
        self.stop_reason = "stop requested"
        self._tick_due = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self._sender_seen = time.monotonic()
        self._sending = False
        self.owner = uuid.uuid4().hex  # this process's name on its outbox claims

    def run(self) -> None:
        self._scheduler = self._schedule()
        heap.settle()
        try:
            self._serve()
        finally:
            heap.thaw()
            if self._scheduler is not None:
                # A tick in hand sees `stop` and ends after its current batch.
                self._scheduler.shutdown(wait=True)
            if self._outbox is not None:
                self._outbox.release()

    def _schedule(self) -> BackgroundScheduler | None:
        chasing = self.handlers.chasing
        if chasing is None:
            return None
        schedule = chasing.rules.schedule
        return start_schedule(self._tick_due.set, (schedule.daily_at, schedule.summary_at))

    def _tick(self) -> None:
        """The chasing jobs, in the jobs thread, so one run at a time here, and one process
        at a time through the "jobs" lock; what they queue wakes the sender."""
        chasing = self.handlers.chasing
        if chasing is None or self.stop.is_set():
            return
        try:
            lease = self.locks.try_acquire("jobs")
            if lease is None:
                log.debug("scheduled jobs: another mailbot process is running them")
                return
            try:
                report = chasing.tick(self.clock.now(), self.stop)
            finally:
                lease.release()
        except Exception as error:  # the next run tries again; nothing half-done is kept
            log.error("scheduled jobs: %s: %s", type(error).__name__, error)
            return
        if report.queued:
            self.wake.set()
        (log.info if report.queued or report.closed else log.debug)("%s", report.summary())

    def reload(self, why: str) -> None:
        """Rules and templates afresh; if they do not load, the ones in use stay."""
        self.notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            if self.supervision.reload is None:
                raise RuntimeError("this daemon cannot reload")
            handlers = self.supervision.reload()
        except Exception as error:
            log.error("reload (%s) refused, keeping the rules and templates in use: %s",
                      why, error)
        else:
            old_times = self._times(self.handlers)
            self.handlers = handlers
            heap.resettle()
            if self._scheduler is not None and self._times(handlers) != old_times:
                self._scheduler.shutdown(wait=False)
                self._scheduler = self._schedule()
            log.info("reloaded rules and templates (%s)", why)
        self.notify("READY=1")

    @staticmethod
    def _times(handlers: Handlers) -> tuple[object, ...]:
        schedule = handlers.chasing.rules.schedule if handlers.chasing else None
        return (schedule.daily_at, schedule.summary_at) if schedule else ()

    def _serve(self) -> None:
        """The main thread only looks after the others, so it never blocks on a server:
        a stop is noticed within a second, and the watchdog goes quiet only when the
        sender is stuck."""
        targets: dict[str, Callable[[], None]] = {
            f"mailbox-{name}": self._watch(name, make).run
            for name, make in self.sources.items()}
        targets["outbox"] = self._sender
        targets["jobs"] = self._jobs
        threads = {name: self._spawn(name, target) for name, target in targets.items()}
        self.notify(f"READY=1\nSTATUS=watching {len(self.sources)} mailboxes")
        year = london_date(self.clock.now()).year
        next_ping = 0.0
        while not self.stop.wait(1.0):
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload("SIGHUP")
            if london_date(self.clock.now()).year != year:
                year = london_date(self.clock.now()).year
                self.reload("a new year: bank holidays")
            alive = not self._sending or time.monotonic() - self._sender_seen < SENDER_STUCK
            if self.supervision.watchdog and alive and time.monotonic() >= next_ping:
                self.notify("WATCHDOG=1")
                next_ping = time.monotonic() + self.supervision.watchdog
            for name, thread in threads.items():
                if not thread.is_alive() and not self.stop.is_set():
                    log.error("%s: its thread ended; starting it again", name)
                    threads[name] = self._spawn(name, targets[name])
        log.info("%s: finishing the message in hand", self.stop_reason)
        self.notify("STOPPING=1")
        self.wake.set()  # the sender is waiting for work: let it see the stop
        deadline = time.monotonic() + STOP_SECONDS
        for thread in threads.values():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _watch(self, name: str, make: Callable[[], MailSource]) -> MailboxWatch:
        return MailboxWatch(name, make, lambda: self.handlers.intake, self.store, self.clock,
                            self.locks, self.stop, self.wake, self.pacing.max_backoff)

    @staticmethod
    def _spawn(name: str, target: Callable[[], None]) -> threading.Thread:
        # Daemon threads: one stuck on a dead server must not keep the process alive.
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread

    def _sender(self) -> None:
        """Deliver what is queued at once (whatever waited before the start), then whenever
        a new case wakes it, and every send_interval for retries and other processes' mail."""
        while not self.stop.is_set():
            self._progressed()
            self._sending = True
            try:
                self._send()
            finally:
                self._sending = False
            self.wake.wait(self.pacing.send_interval)
            self.wake.clear()

    def _jobs(self) -> None:
        """The schedule only says when; the jobs run here, in a thread of ours that a stop
        does not wait for beyond STOP_SECONDS (what a tick did not commit is owed again)."""
        while not self.stop.is_set():
            if self._tick_due.wait(1.0):
                self._tick_due.clear()
                self._tick()

    def _progressed(self) -> None:
        self._sender_seen = time.monotonic()

    def _may_send(self) -> bool:
        """One process sends the outbox. Taking over from one that died, it gives back
        every claim (they can only be the dead sender's), so its mail goes now."""
        if self._outbox is not None:
            if self._outbox.held():
                return True
            log.warning("outbox: lost the outbox lock (database connection); will retry")
            self._outbox.release()
            self._outbox = None
        self._outbox = self.locks.try_acquire("outbox")
        if self._outbox is not None:
            log.info("outbox: this process sends the outbox")
        return self._outbox is not None

    def _send(self) -> None:
        try:
            if not self._may_send():
                return
            assert self._outbox is not None
            control = Control(self.owner, self.stop, self._outbox.held, self._progressed)
            report = asyncio.run(deliver(self.store, self.sender, self.clock, control=control))
        except (SendError, OSError) as error:
            log.warning("outbox: %s", error)
            return
        except Exception as error:  # keep the daemon up; the item stays queued
            log.error("outbox: unexpected %s: %s", type(error).__name__, error)
            return
        if report.sent or report.deferred or report.failed:
            log.info("outbox: sent %d, deferred %d, failed %d", len(report.sent),
                     len(report.deferred), len(report.failed),
                     extra={"sent": len(report.sent), "deferred": len(report.deferred),
                            "failed": len(report.failed)})
