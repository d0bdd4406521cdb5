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
from dataclasses import dataclass, fields, replace

from mailbot.clock import Clock
from mailbot.domain.acknowledge import SenderHistory
from mailbot.domain.bounce import FAILED, bounce_verdict
from mailbot.domain.correlate import correlate, thread_keys
from mailbot.domain.decide import decide
from mailbot.domain.model import CaseSnapshot, EventRecord, Inbound
from mailbot.domain.reference import make_reference, make_token
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import Calendar, london_date, london_midnight
from mailbot.rendering import Renderer
from mailbot.services.compose import MailIdentity, case_context, compose, snapshot_of
from mailbot.services.ports import Conflict, NotAnEmail, Store, StoreUnavailable, Transaction

log = logging.getLogger(__name__)
SNAPSHOT_FIELDS = frozenset(f.name for f in fields(CaseSnapshot))
REFERENCE_ATTEMPTS = 50


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # "case" | "threaded" | "duplicate" | "quarantined"
    reference: str | None
    detail: str
    reasons: tuple[str, ...] = ()


class Intake:
    def __init__(self, store: Store, parse: Callable[[bytes], Inbound], rules: Rules,
                 calendar: Calendar, renderer: Renderer, identity: MailIdentity, clock: Clock,
                 roles: dict[str, str], entropy: Callable[[int], bytes] = secrets.token_bytes,
                 trusted_authserv_id: str | None = None) -> None:
        """`roles` maps mailbox names to their role ("feedback" or "spoc")."""
        self.trusted_authserv_id = trusted_authserv_id
        self.store = store
        self.parse = parse
        self.roles = roles
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
        except StoreUnavailable:
            raise  # the message stays where it is and is tried again; nothing is wrong with it
        except Exception as bug:  # keep the bytes whatever the fault
            log.error("intake failed, message quarantined: %s: %s", type(bug).__name__, bug)
            log.debug("intake failure", exc_info=True)
            return self._quarantine(raw, mailbox,
                                    f"internal error: {bug.__class__.__name__}: {bug}")

    def release(self, item_id: int) -> IntakeResult:
        """Re-ingest a quarantined message (after a fix); it stays listed if refused again."""
        with self.store.transaction() as tx:
            found = tx.quarantined_message(item_id)
        if found is None:
            return IntakeResult("missing", None, f"no quarantine item {item_id}")
        raw, mailbox = found
        result = self.ingest(raw, mailbox or "feedback")
        if result.outcome != "quarantined":
            with self.store.transaction() as tx:
                tx.mark_released(item_id, self.clock.now(), result.detail)
        return result

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
        keys = thread_keys(inbound, self.identity.own_domains, self.identity.reply_locals,
                           self.rules.council.reference_prefix)
        sender = inbound.from_.email if inbound.from_ else None
        midnight = london_midnight(london_date(now))
        with self.store.transaction() as tx:
            duplicate = tx.find_duplicate(inbound)
            if duplicate:
                return IntakeResult("duplicate", None, f"already handled: {duplicate}")
            correlation = correlate(inbound, keys, tx.thread_matches(keys))
            answering = correlation.answering
            if correlation.case is None and answering is not None and answering.case is None:
                # A reply to a weekly summary or digest (or its out-of-office, or its
                # bounce) is no new matter: kept for a person, never a case, never answered.
                bounce = bounce_verdict(inbound)
                if bounce.value == FAILED:
                    tx.mark_bounced(answering.outbox_id, "; ".join(bounce.reasons))
                reason = (f"answers our {answering.template} (outbox {answering.outbox_id}), "
                          "which is about no one case: kept for the Feedback Team, no case "
                          "opened, nothing sent")
                item, _ = tx.quarantine(inbound.raw, inbound.raw_sha256, mailbox, reason, now)
                return IntakeResult("quarantined", None, f"quarantine item {item}: {reason}",
                                    (reason,))
            # Counted for whoever would receive the acknowledgement and for the sender, so a
            # forged From or Reply-To cannot turn mailbot against someone's inbox (usually
            # one address, so one count).
            addresses = {a.email.lower() for a in (inbound.contact, inbound.from_) if a}
            history = SenderHistory(max((tx.acknowledgements_since(a, midnight)
                                         for a in addresses), default=0))
            decision = decide(inbound, correlation, history, self.roles.get(mailbox, "feedback"),
                              self.rules, self.calendar, now, self.trusted_authserv_id)
            if decision.new_case is not None:
                reference = self._new_reference(tx, london_date(now).year)
                stored = tx.add_case(decision.new_case, reference, make_token(self.entropy(32)))
                case = snapshot_of(decision.new_case, stored)
                outcome, detail = "case", f"new case {reference}"
            elif decision.existing is not None:
                case = decision.existing
                outcome, detail = "threaded", f"added to case {case.reference}"
            else:
                raise RuntimeError("a decision names neither a new nor an existing case")
            tx.add_inbound(case.id, inbound, decision.stored_text, mailbox, now)
            if decision.changes:
                tx.update_case(case.id, decision.changes)
                case = replace(case, **{k: v for k, v in decision.changes.items()
                                        if k in SNAPSHOT_FIELDS})
            stale = [EventRecord("bounce_ignored", f"outbox {item} was never sent, so this "
                                                   "cannot be its bounce; nothing changed")
                     for item, reason in decision.bounced if not tx.mark_bounced(item, reason)]
            events = [EventRecord("received", f"from {sender or 'unknown'} in mailbox {mailbox}: "
                                              f"{inbound.subject[:200]!r}",
                                  actor=sender or "unknown"),
                      *decision.events, *stale]
            base = case_context(case, self.rules)
            composed = [compose(notice, base, inbound, case.token, self.identity, self.renderer,
                                now, self.rules.council.attachment_forward_limit)
                        if notice.to else None for notice in decision.notices]
            items = iter(tx.queue_many([(case.id, m) for m in composed if m is not None], now))
            for notice, mail in zip(decision.notices, composed, strict=True):
                if mail is None:  # e.g. a letter for a case that has no contact address
                    events.append(EventRecord("not_sent", f"{notice.template}: no recipient"))
                else:
                    events.append(EventRecord(
                        "queued", f"{notice.template} to {', '.join(mail.recipients)} "
                                  f"(outbox {next(items)})"))
            tx.add_events(case.id, tuple(events), now)
        return IntakeResult(outcome, case.reference, detail, decision.reasons)
