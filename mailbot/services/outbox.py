"""Deliver queued mail: the only code path that sends anything.

Each item is marked sent in its own transaction the moment the relay accepts it, so a
crash can at worst resend one message per connection (with the same Message-ID, which
lets the recipient's client fold the two); temporary failures back off, permanent ones
are marked.

A batch goes over the relay's `connections` at once, each with its share of the items:
one connection spends most of its time waiting for the relay's answers (four round
trips a message), so a backlog drained at a third of the rate the CPU allowed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from mailbot.clock import Clock
from mailbot.services.ports import MailSender, QueuedItem, SendError, Store, Transaction

MAX_ATTEMPTS = 12
FIRST_DELAY = dt.timedelta(minutes=1)
LONGEST_DELAY = dt.timedelta(hours=4)
# Longer than any batch takes: the last resort for a claim nobody releases.
CLAIM_LEASE = dt.timedelta(minutes=15)
# A message a sender began may still reach the relay until its deadline; twice that
# covers commit latency and clocks that differ between hosts.
IN_FLIGHT_FACTOR = 2


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes after each failure, capped at four hours (about a day in all)."""
    delay: dt.timedelta = FIRST_DELAY * 2 ** max(attempts - 1, 0)
    return min(delay, LONGEST_DELAY)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    deferred: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


def _always() -> bool:
    return True


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Control:
    """How one delivery run is steered: `owner` names this sender on its claims; `stop`
    and `entitled` (still holding the outbox lock?) end it after the item in hand;
    `progress` is called after each item, for the watchdog."""

    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    stop: threading.Event | None = None
    entitled: Callable[[], bool] = _always
    progress: Callable[[], None] = _nothing

    def go_on(self) -> bool:
        return (self.stop is None or not self.stop.is_set()) and self.entitled()


async def deliver(store: Store, sender: MailSender, clock: Clock, batch: int = 200,
                  control: Control | None = None) -> DeliveryReport:
    """Send everything due; items claimed but not sent when the run ends are given back.

    Before each message the claim is confirmed and stamped as in flight, in one
    conditional UPDATE: a sender whose claim was taken over (it lost the outbox while
    alive) skips the item instead of sending it a second time. Claims other senders left
    behind are freed first; one they may still be sending waits until its transaction
    must be over (twice the relay's deadline).
    """
    control = control or Control()
    report = DeliveryReport()
    in_flight = dt.timedelta(seconds=IN_FLIGHT_FACTOR * sender.send_deadline)
    while control.go_on():
        with store.transaction() as tx:
            tx.release_stale(control.owner, clock.now(), in_flight)
            items = tx.claim_due(clock.now(), batch, CLAIM_LEASE, control.owner)
        if not items:
            return report
        lanes = [items[i::sender.connections] for i in range(sender.connections)]
        done: set[int] = set()
        down = await asyncio.gather(*(_lane(store, sender, clock, lane, control, done, report)
                                      for lane in lanes if lane))
        with store.transaction() as tx:
            tx.release([i.id for i in items if i.id not in done], control.owner)
        if any(down):
            return report
    return report


async def _lane(store: Store, sender: MailSender, clock: Clock, items: list[QueuedItem],
                control: Control, done: set[int], report: DeliveryReport) -> bool:
    """Send `items` over one connection; True if the relay could not be reached (then
    they are all recorded as failed attempts)."""
    accepted: list[int] = []  # by the relay, and marked sent in the very next commit
    try:
        async with sender.connect() as session:
            for item in items:
                if not control.go_on():
                    break
                done.add(item.id)
                with store.transaction() as tx:
                    _mark_sent(tx, clock, accepted, report)
                    if not tx.begin_send(item.id, control.owner, clock.now(), CLAIM_LEASE):
                        continue
                try:
                    await session.send(item.envelope_from, item.recipients, item.raw)
                except SendError as error:
                    _record_failure(store, clock, item.id, item.attempts, error, report)
                else:
                    accepted.append(item.id)
                control.progress()
            with store.transaction() as tx:
                _mark_sent(tx, clock, accepted, report)
    except SendError as down:
        with store.transaction() as tx:
            _mark_sent(tx, clock, accepted, report)
        for item in items:
            if item.id not in done:
                done.add(item.id)
                _record_failure(store, clock, item.id, item.attempts, down, report)
        return True
    return False


def _mark_sent(tx: Transaction, clock: Clock, accepted: list[int],
               report: DeliveryReport) -> None:
    """What the relay accepted since the last commit: at most one item, marked in the
    transaction that confirms the next, so a message costs one commit, not two."""
    for item_id in accepted:
        tx.mark_sent(item_id, clock.now())
        report.sent.append(item_id)
    accepted.clear()


def _record_failure(store: Store, clock: Clock, item_id: int, attempts: int,
                    error: SendError, report: DeliveryReport) -> None:
    with store.transaction() as tx:
        if error.permanent or attempts + 1 >= MAX_ATTEMPTS:
            tx.mark_failed(item_id, str(error))
            report.failed.append((item_id, str(error)))
        else:
            tx.mark_retry(item_id, str(error), clock.now() + retry_delay(attempts + 1))
            report.deferred.append((item_id, str(error)))
