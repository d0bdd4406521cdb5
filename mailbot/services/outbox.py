"""Deliver queued mail: the only code path that sends anything.

Each item is marked sent in its own transaction the moment the relay accepts it, so a
crash can at worst resend one message (with the same Message-ID, which lets the
recipient's client fold the two); temporary failures back off, permanent ones are marked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mailbot.clock import Clock
from mailbot.services.ports import MailSender, SendError, Store

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


async def deliver(store: Store, sender: MailSender, clock: Clock,
                  batch: int = 200) -> DeliveryReport:
    report = DeliveryReport()
    while True:
        with store.transaction() as tx:
            items = tx.claim_due(clock.now(), batch, CLAIM_LEASE)
        if not items:
            return report
        try:
            async with sender.connect() as session:
                for item in items:
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


def _record_failure(store: Store, clock: Clock, item_id: int, attempts: int,
                    error: SendError, report: DeliveryReport) -> None:
    with store.transaction() as tx:
        if error.permanent or attempts + 1 >= MAX_ATTEMPTS:
            tx.mark_failed(item_id, str(error))
            report.failed.append((item_id, str(error)))
        else:
            tx.mark_retry(item_id, str(error), clock.now() + retry_delay(attempts + 1))
            report.deferred.append((item_id, str(error)))
