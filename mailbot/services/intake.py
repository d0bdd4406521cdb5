"""The single door for inbound mail: IMAP polling, `ingest` and the demo all come here.

Each message is handled in one transaction: its case, message, events and outbox items
commit together or not at all. Whatever goes wrong, the bytes are kept: a message that is
not an email, or that trips a bug, goes to quarantine with the reason.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from mailbot.clock import Clock
from mailbot.domain.decide import decide_new_case
from mailbot.domain.model import EventRecord, Inbound
from mailbot.domain.reference import make_reference, make_token
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import Calendar, london_date
from mailbot.rendering import Renderer
from mailbot.services.compose import MailIdentity, case_context, compose
from mailbot.services.ports import Conflict, NotAnEmail, Store, Transaction

log = logging.getLogger(__name__)
REFERENCE_ATTEMPTS = 50


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # "case" | "duplicate" | "quarantined"
    reference: str | None
    detail: str
    reasons: tuple[str, ...] = ()


class Intake:
    def __init__(self, store: Store, parse: Callable[[bytes], Inbound], rules: Rules,
                 calendar: Calendar, renderer: Renderer, identity: MailIdentity, clock: Clock,
                 entropy: Callable[[int], bytes] = secrets.token_bytes) -> None:
        self.store = store
        self.parse = parse
        self.rules = rules
        self.calendar = calendar
        self.renderer = renderer
        self.identity = identity
        self.clock = clock
        self.entropy = entropy

    def ingest(self, raw: bytes, mailbox: str) -> IntakeResult:
        try:
            try:
                return self._ingest(raw, mailbox)
            except Conflict:
                # Another process filed the same message (or drew the same reference) at
                # the same moment; a second look finds its work and decides again.
                return self._ingest(raw, mailbox)
        except NotAnEmail as refused:
            return self._quarantine(raw, mailbox, str(refused))
        except Exception as bug:  # keep the bytes whatever the fault
            log.error("intake failed, message quarantined: %s: %s", type(bug).__name__, bug)
            log.debug("intake failure", exc_info=True)
            return self._quarantine(raw, mailbox,
                                    f"internal error: {bug.__class__.__name__}: {bug}")

    def _quarantine(self, raw: bytes, mailbox: str, reason: str) -> IntakeResult:
        with self.store.transaction() as tx:
            item, new = tx.quarantine(raw, hashlib.sha256(raw).hexdigest(), mailbox, reason,
                                      self.clock.now())
        detail = f"quarantine item {item}: {reason}" if new else f"already in quarantine {item}"
        return IntakeResult("quarantined", None, detail, (reason,))

    def _new_reference(self, tx: Transaction, year: int) -> str:
        for _ in range(REFERENCE_ATTEMPTS):
            reference = make_reference(self.rules.council.reference_prefix, year,
                                       self.entropy(8))
            if not tx.reference_taken(reference):
                return reference
        raise RuntimeError("no free case reference: lengthen references in the rules")

    def _ingest(self, raw: bytes, mailbox: str) -> IntakeResult:
        inbound = self.parse(raw)
        now = self.clock.now()
        with self.store.transaction() as tx:
            duplicate = tx.find_duplicate(inbound)
            if duplicate:
                return IntakeResult("duplicate", None, f"already handled: {duplicate}")
            decision = decide_new_case(inbound, self.rules, self.calendar, now)
            reference = self._new_reference(tx, london_date(now).year)
            stored = tx.add_case(decision.case, reference, make_token(self.entropy(32)))
            tx.add_inbound(stored.id, inbound, mailbox, now)
            sender = inbound.from_.email if inbound.from_ else "unknown"
            events = [EventRecord("received", f"from {sender} in mailbox {mailbox}: "
                                              f"{inbound.subject[:200]!r}", actor=sender),
                      *decision.events]
            base = case_context(decision.case, stored, self.rules)
            for notice in decision.notices:
                mail = compose(notice, base, inbound, stored, self.identity, self.renderer, now)
                item = tx.queue(stored.id, mail, now)
                events.append(EventRecord(
                    "queued", f"{notice.template} to {', '.join(mail.recipients)} "
                              f"(outbox {item})"))
            tx.add_events(stored.id, tuple(events), now)
        return IntakeResult("case", reference, f"new case {reference}", decision.reasons)
