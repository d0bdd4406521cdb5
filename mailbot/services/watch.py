"""Reading mailboxes: one pass over all of them (`mailbot poll`), or one mailbox watched
for as long as the daemon runs.

Only one process reads a mailbox at a time (its lock); a standby process takes over within
STANDBY_SECONDS of the reader stopping or dying. A watched mailbox polls, then waits for
mail (IDLE where offered, otherwise the polling interval), and on any failure reconnects
with doubling backoff; one mailbox's trouble never stops another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from mailbot.clock import Clock
from mailbot.services.intake import Intake
from mailbot.services.polling import PollReport, poll_mailbox, record_failure
from mailbot.services.ports import Lease, Locks, MailSource, NoLocks, SourceError, Store

log = logging.getLogger(__name__)
STANDBY_SECONDS = 2.0
# A reader that failed waits longer than a standby's look, so a standby on a host that can
# reach the server gets the mailbox.
AFTER_FAILURE = 2.5 * STANDBY_SECONDS


def poll_all(sources: list[Callable[[], MailSource]], names: list[str], intake: Intake,
             store: Store, clock: Clock, locks: Locks | None = None) -> list[PollReport]:
    """One pass over every mailbox; a failing one is reported and the rest still polled,
    and one that a running daemon holds is left to it."""
    reports = []
    for name, make in zip(names, sources, strict=True):
        report = PollReport(name)
        lease: Lease | None = None
        try:
            lease = (locks or NoLocks()).try_acquire(f"mailbox:{name}")
            if lease is None:
                report.busy = True
            else:
                with make() as source:
                    poll_mailbox(source, intake, store, clock, report)
        except Exception as error:  # one mailbox's trouble, whatever it is, stays its own
            report.error = f"{error}" if isinstance(error, SourceError) \
                else f"{type(error).__name__}: {error}"
            record_failure(store, clock, name, error)
        finally:
            if lease is not None:
                lease.release()
        reports.append(report)
    return reports


@dataclass
class MailboxWatch:
    """One mailbox for the daemon. `intake` is asked for afresh on every pass, so a reload
    takes effect at the next message; `wake` tells the sender there is mail to send."""

    name: str
    make: Callable[[], MailSource]
    intake: Callable[[], Intake]
    store: Store
    clock: Clock
    locks: Locks
    stop: threading.Event
    wake: threading.Event
    max_backoff: float

    def run(self) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            lease: Lease | None = None
            try:
                lease = self._standby()
                if lease is None:
                    return
                with self.make() as source:
                    backoff = 1.0
                    while not self.stop.is_set() and lease.held():
                        report = poll_mailbox(source, self.intake(), self.store, self.clock,
                                              stop=self.stop, wake=self.wake)
                        if report.handled:
                            log.info("%s", report.summary())
                        source.wait_for_mail(self.stop)
            except Exception as error:  # a bug or a database outage must not end the thread
                if lease is not None:  # a standby that can reach the server may take over
                    lease.release()
                    lease = None
                wait = max(backoff, AFTER_FAILURE)
                if isinstance(error, SourceError):
                    log.warning("%s; retrying in %.0f s", error, wait)
                else:
                    log.error("mailbox %s: %s: %s", self.name, type(error).__name__, error)
                record_failure(self.store, self.clock, self.name, error)
                self.stop.wait(wait)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                if lease is not None:
                    lease.release()

    def _standby(self) -> Lease | None:
        waiting = False
        while not self.stop.is_set():
            lease = self.locks.try_acquire(f"mailbox:{self.name}")
            if lease is not None:
                if waiting:
                    log.info("mailbox %s: taking over from another mailbot process", self.name)
                return lease
            if not waiting:
                log.info("mailbox %s: another mailbot process reads it; standing by",
                         self.name)
                waiting = True
            self.stop.wait(STANDBY_SECONDS)
        return None
