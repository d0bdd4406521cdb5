"""`mailbot run`: every mailbox in its own thread, plus the outbox sender.

Each mailbox polls, then waits for mail (IDLE where the server offers it, otherwise the
polling interval), and on any connection failure reconnects with doubling backoff; one
mailbox's trouble never stops another. New cases wake the sender at once, so an
acknowledgement leaves seconds after the resident's message arrived.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mailbot.clock import Clock
from mailbot.services.chasing import Chasing
from mailbot.services.intake import Intake
from mailbot.services.outbox import deliver
from mailbot.services.polling import PollReport, poll_mailbox, record_failure
from mailbot.services.ports import MailSender, MailSource, SendError, SourceError, Store
from mailbot.services.schedule import start_schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pacing:
    send_interval: float
    max_backoff: float


def poll_all(sources: list[Callable[[], MailSource]], names: list[str], intake: Intake,
             store: Store, clock: Clock) -> list[PollReport]:
    """One pass over every mailbox; a failing one is reported and the rest still polled."""
    reports = []
    for name, make in zip(names, sources, strict=True):
        report = PollReport(name)
        try:
            with make() as source:
                poll_mailbox(source, intake, store, clock, report)
        except Exception as error:  # one mailbox's trouble, whatever it is, stays its own
            report.error = f"{error}" if isinstance(error, SourceError) \
                else f"{type(error).__name__}: {error}"
            record_failure(store, clock, name, error)
        reports.append(report)
    return reports


class Daemon:
    def __init__(self, sources: dict[str, Callable[[], MailSource]], intake: Intake,
                 store: Store, sender: MailSender, clock: Clock, pacing: Pacing,
                 stop: threading.Event, chasing: Chasing | None = None) -> None:
        self.sources = sources
        self.intake = intake
        self.store = store
        self.sender = sender
        self.clock = clock
        self.pacing = pacing
        self.stop = stop
        self.wake = threading.Event()
        self.chasing = chasing
        self._ticking = threading.Lock()

    def run(self) -> None:
        schedule = self.chasing.rules.schedule if self.chasing else None
        scheduler = start_schedule(self._tick, (schedule.daily_at, schedule.summary_at)) \
            if schedule else None
        try:
            self._serve()
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=True)  # a tick in hand finishes its transaction

    def _tick(self) -> None:
        """The chasing jobs, one run at a time (a run that waits still finds what is owed);
        what they queue wakes the sender."""
        if self.chasing is None:
            return
        with self._ticking:
            try:
                report = self.chasing.tick(self.clock.now())
            except Exception as error:  # the next run tries again; nothing half-done is kept
                log.error("scheduled jobs: %s: %s", type(error).__name__, error)
                return
        if report.queued:
            self.wake.set()
        (log.info if report.queued or report.closed else log.debug)("%s", report.summary())

    def _serve(self) -> None:
        threads = {name: self._start(name, make) for name, make in self.sources.items()}
        next_send = 0.0  # deliver whatever is already queued straight away
        while not self.stop.is_set():
            # Short waits, so a stop request is noticed within a second.
            if self.wake.wait(1.0) or time.monotonic() >= next_send:
                self.wake.clear()
                self._send()
                next_send = time.monotonic() + self.pacing.send_interval
            for name, thread in threads.items():
                if not thread.is_alive() and not self.stop.is_set():
                    log.error("mailbox %s: its thread ended; starting it again", name)
                    threads[name] = self._start(name, self.sources[name])
        for thread in threads.values():
            thread.join(timeout=15)

    def _start(self, name: str, make: Callable[[], MailSource]) -> threading.Thread:
        thread = threading.Thread(target=self._mailbox_loop, args=(name, make),
                                  name=f"mailbox-{name}", daemon=True)
        thread.start()
        return thread

    def _send(self) -> None:
        try:
            report = asyncio.run(deliver(self.store, self.sender, self.clock))
        except (SendError, OSError) as error:
            log.warning("outbox: %s", error)
            return
        except Exception as error:  # keep the daemon up; the item stays queued
            log.error("outbox: unexpected %s: %s", type(error).__name__, error)
            return
        if report.sent or report.deferred or report.failed:
            log.info("outbox: sent %d, deferred %d, failed %d", len(report.sent),
                     len(report.deferred), len(report.failed))

    def _mailbox_loop(self, name: str, make: Callable[[], MailSource]) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            try:
                with make() as source:
                    backoff = 1.0
                    while not self.stop.is_set():
                        report = poll_mailbox(source, self.intake, self.store, self.clock,
                                              stop=self.stop)
                        if report.outcomes.get("case") or report.outcomes.get("threaded"):
                            self.wake.set()
                        if report.handled:
                            log.info("%s", report.summary())
                        source.wait_for_mail(self.stop)
            except SourceError as error:
                record_failure(self.store, self.clock, name, error)
                log.warning("%s; retrying in %.0f s", error, backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.pacing.max_backoff)
            except Exception as error:  # a bug or a database outage must not end the thread
                log.error("mailbox %s: %s: %s", name, type(error).__name__, error)
                record_failure(self.store, self.clock, name, error)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.pacing.max_backoff)
