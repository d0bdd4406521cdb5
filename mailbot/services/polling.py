"""Read a mailbox through the intake door, exactly once, and move what was handled.

Exactly once rests on two things: intake is idempotent (the same bytes, or the same
Message-ID from the same sender, is recognised), and a message leaves the folder only
after its transaction committed. So a crash between the two, a re-read folder or a new
UIDVALIDITY can only make intake see a duplicate, which it skips, and the move happens.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from mailbot.clock import Clock
from mailbot.services.intake import Intake
from mailbot.services.ports import MailSource, Store

log = logging.getLogger(__name__)
BATCH = 50
FILED = frozenset({"case", "threaded"})  # outcomes that may have queued mail


@dataclass
class PollReport:
    mailbox: str
    outcomes: dict[str, int] = field(default_factory=dict)
    uidvalidity_changed: bool = False
    error: str | None = None
    busy: bool = False  # another process holds the mailbox

    @property
    def handled(self) -> int:
        return sum(self.outcomes.values())

    def summary(self) -> str:
        if self.busy:
            return f"{self.mailbox}: being read by another mailbot process; left to it"
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())) or "nothing new"
        extra = "; UIDVALIDITY changed, folder re-read" if self.uidvalidity_changed else ""
        return f"{self.mailbox}: {counts}{extra}" + (f"; error: {self.error}" if self.error else "")


def poll_mailbox(source: MailSource, intake: Intake, store: Store, clock: Clock,
                 report: PollReport | None = None, stop: threading.Event | None = None,
                 wake: threading.Event | None = None) -> PollReport:
    """One pass over a connected mailbox. Raises SourceError if the connection fails;
    everything handled before that is committed and moved, or will be on the next pass.
    A `stop` request ends the pass after the message in hand, which is then moved.
    `wake` is set after each batch that filed mail, so the sender starts on a backlog's
    acknowledgements while the rest of it is still being read."""
    report = report or PollReport(source.name)
    with store.transaction() as tx:
        state = tx.mailbox_state(source.name)
    uidvalidity = source.uidvalidity()
    last_uid = state.last_uid
    if state.uidvalidity is not None and state.uidvalidity != uidvalidity:
        report.uidvalidity_changed = True
        last_uid = 0
        log.warning("mailbox %s: UIDVALIDITY %s -> %s; re-reading the folder",
                    source.name, state.uidvalidity, uidvalidity)
    uids = source.pending()
    for start in range(0, len(uids), BATCH):
        if stop is not None and stop.is_set():
            break
        batch = uids[start:start + BATCH]
        done: list[int] = []
        quarantined: list[int] = []
        filed = False
        for uid, raw in source.fetch(batch):
            if stop is not None and stop.is_set():
                break
            result = intake.ingest(raw, source.name)
            report.outcomes[result.outcome] = report.outcomes.get(result.outcome, 0) + 1
            (quarantined if result.outcome == "quarantined" else done).append(uid)
            filed = filed or result.outcome in FILED
            log.info("mailbox %s uid %s: %s %s", source.name, uid, result.outcome,
                     result.reference or "", extra={
                         "mailbox": source.name, "uid": uid, "outcome": result.outcome,
                         "case": result.reference})
        source.move(done, quarantine=False)
        source.move(quarantined, quarantine=True)
        last_uid = max([last_uid, *done, *quarantined])
        with store.transaction() as tx:
            tx.save_mailbox_state(source.name, uidvalidity, last_uid, clock.now(), None)
        if filed and wake is not None:
            wake.set()
    with store.transaction() as tx:
        tx.save_mailbox_state(source.name, uidvalidity, last_uid, clock.now(), None)
    return report


def record_failure(store: Store, clock: Clock, name: str, error: Exception) -> None:
    """Keep the last error per mailbox for `status`; the poll state itself is unchanged.
    If the database is what failed, the log line is all there can be."""
    try:
        with store.transaction() as tx:
            state = tx.mailbox_state(name)
            tx.save_mailbox_state(name, state.uidvalidity, state.last_uid, clock.now(),
                                  str(error))
    except Exception as also:
        log.error("mailbox %s: could not record the failure: %s", name, also)
