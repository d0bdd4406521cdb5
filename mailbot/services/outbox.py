"""Deliver queued mail: the only code path that sends anything.

Each item is marked sent in its own transaction the moment the relay accepts it, so a
crash can at worst resend one message (with the same Message-ID, which lets the
recipient's client fold the two); temporary failures back off, permanent ones are marked.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from mailbot.clock import Clock
from mailbot.services.ports import Lease, Locks, MailSender, SendError, Store

MAX_ATTEMPTS = 12
FIRST_DELAY = dt.timedelta(minutes=1)
LONGEST_DELAY = dt.timedelta(hours=4)
# Longer than any batch takes; a sender that dies holding items releases them after this.
CLAIM_LEASE = dt.timedelta(minutes=15)


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes after each failure, capped at four hours (about a day in all)."""
    delay: dt.timedelta = FIRST_DELAY * 2 ** max(attempts - 1, 0)
    return min(delay, LONGEST_DELAY)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    deferred: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


def take_outbox(store: Store, locks: Locks) -> Lease | None:
    """The right to send, held by one process at a time. Its new holder gives back every
    claim: any it did not make was left by a sender that died, and goes now rather than
    when its lease runs out."""
    lease = locks.try_acquire("outbox")
    if lease is not None:
        try:
            with store.transaction() as tx:
                tx.release(None)
        except Exception:
            lease.release()
            raise
    return lease


def _always() -> bool:
    return True


async def deliver(store: Store, sender: MailSender, clock: Clock, batch: int = 200,
                  stop: threading.Event | None = None,
                  entitled: Callable[[], bool] = _always) -> DeliveryReport:
    """Send everything due. A `stop` request, or losing the right to send (`entitled`, the
    outbox lock), ends it after the item in hand; items claimed but not sent are given
    back."""
    report = DeliveryReport()
    while stop is None or not stop.is_set():
        with store.transaction() as tx:
            items = tx.claim_due(clock.now(), batch, CLAIM_LEASE)
        if not items:
            return report
        try:
            async with sender.connect() as session:
                for number, item in enumerate(items):
                    if (stop is not None and stop.is_set()) or not entitled():
                        with store.transaction() as tx:
                            tx.release([i.id for i in items[number:]])
                        return report
                    try:
                        await session.send(item.envelope_from, item.recipients, item.raw)
                    except SendError as error:
                        _record_failure(store, clock, item.id, item.attempts, error, report)
                    else:
                        with store.transaction() as tx:
                            tx.mark_sent(item.id, clock.now())
                        report.sent.append(item.id)
        except SendError as down:
            for item in items:
                if item.id not in report.sent:
                    _record_failure(store, clock, item.id, item.attempts, down, report)
            return report
    return report


def _record_failure(store: Store, clock: Clock, item_id: int, attempts: int,
                    error: SendError, report: DeliveryReport) -> None:
    with store.transaction() as tx:
        if error.permanent or attempts + 1 >= MAX_ATTEMPTS:
            tx.mark_failed(item_id, str(error))
            report.failed.append((item_id, str(error)))
        else:
            tx.mark_retry(item_id, str(error), clock.now() + retry_delay(attempts + 1))
            report.deferred.append((item_id, str(error)))
