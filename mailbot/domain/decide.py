"""The decision for one inbound message: a new case, a follow-up, or a delivery report.

Pure: the shell parses the message, looks up what it might belong to (see correlate.py)
and what it knows about the sender, and turns the returned Decision into rows and outbox
items in one transaction.
"""

from __future__ import annotations

import datetime as dt

from mailbot.domain.acknowledge import SenderHistory, acknowledgement_allowed
from mailbot.domain.autoreply import ReplyPermission, may_auto_reply
from mailbot.domain.bounce import bounce_verdict
from mailbot.domain.classify import apply_statutory, classify_kind
from mailbot.domain.correlate import Correlation
from mailbot.domain.follow_up import decide_follow_up
from mailbot.domain.model import (
    Decision,
    EventRecord,
    Inbound,
    Kind,
    NewCase,
    Notice,
    Ombudsman,
    Verdict,
)
from mailbot.domain.procedures import first_deadlines
from mailbot.domain.route import choose_ombudsman, route_service
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import Calendar, london_date


def decide(inbound: Inbound, correlation: Correlation, history: SenderHistory,
           mailbox_role: str, rules: Rules, calendar: Calendar, now: dt.datetime,
           trusted_authserv_id: str | None = None) -> Decision:
    if correlation.case is not None:
        return decide_follow_up(inbound, correlation, correlation.case, history, mailbox_role,
                                rules, calendar, now, trusted_authserv_id)
    return decide_new_case(inbound, rules, calendar, now, correlation, history)


def decide_new_case(inbound: Inbound, rules: Rules, calendar: Calendar, now: dt.datetime,
                    correlation: Correlation | None = None,
                    history: SenderHistory | None = None) -> Decision:
    history = history or SenderHistory()
    text = inbound.opening
    bounce = bounce_verdict(inbound)
    permission = may_auto_reply(inbound)
    if bounce.value:
        kept = permission.reasons if not permission.allowed else ()
        permission = ReplyPermission(False, (*kept, *(f"no reply: {r}" for r in bounce.reasons)))
    claimed = correlation.claimed_reference if correlation else None
    kind_verdict = classify_kind(text, inbound.from_.email if inbound.from_ else None, rules.kinds)
    kind = Kind(str(kind_verdict.value))
    if not permission.allowed:
        route = Verdict(None, ("automatic or unanswerable message: left for Feedback Team triage",))
    elif claimed:
        route = Verdict(None, (f"claims reference {claimed} from a non-participant: "
                               "the Feedback Team checks it",))
    else:
        route = route_service(text, rules)
    service = rules.services[str(route.value)] if route.value is not None else None
    statutory = apply_statutory(kind, service.statutory if service else None,
                                service.name if service else "")
    kind = Kind(str(statutory.value))
    ombudsman = choose_ombudsman(kind, service, text, rules)
    acknowledge = acknowledgement_allowed(permission, history, rules)

    received = london_date(now)
    acknowledged = received if acknowledge.value else None
    stage = 1 if kind.is_complaint else None
    deadlines = first_deadlines(rules.procedures[kind], stage or 1, received, acknowledged,
                                calendar)
    case = NewCase(
        kind=kind,
        stage=stage,
        service=service.key if service else None,
        directorate=service.directorate if service else None,
        ombudsman=Ombudsman(str(ombudsman.value)) if ombudsman.value else None,
        contact=inbound.contact,
        subject=inbound.subject,
        received_at=now,
        acknowledge_due=deadlines.acknowledge_due,
        acknowledged_on=acknowledged,
        response_due=deadlines.response_due,
    )

    notices: list[Notice] = []
    if acknowledge.value and inbound.contact is not None:
        notices.append(Notice(template="acknowledgement", to=(inbound.contact,), context={}))
    if permission.allowed:
        destination = service.spoc if service else rules.council.feedback_team
        notices.append(Notice(
            template="routed_case",
            to=(destination,),
            context={"reasons": [*kind_verdict.reasons, *statutory.reasons, *route.reasons]},
            auto_submitted="auto-generated",
            reply_to_role="spoc" if service else "feedback",
            in_reply_to_inbound=False,
            forward_attachments=True,
        ))

    placed = (f"routed to {service.name} ({service.spoc.email})" if service
              else "sent to Feedback Team triage")
    events = [
        EventRecord("classified", "; ".join((*kind_verdict.reasons, *statutory.reasons))),
        EventRecord("routed" if service else "triage", "; ".join((placed, *route.reasons))),
        EventRecord("ombudsman", "; ".join(ombudsman.reasons)),
        EventRecord("deadlines", "; ".join(deadlines.reasons)),
        EventRecord("acknowledgement" if acknowledge.value else "no_acknowledgement",
                    "; ".join(acknowledge.reasons)),
    ]
    if claimed:
        events.insert(0, EventRecord("claimed_reference", "; ".join(correlation.reasons)
                                     if correlation else claimed))
    if bounce.value:
        events.insert(0, EventRecord("bounce", "; ".join(
            (*bounce.reasons, "matches no message of ours"))))
    return Decision(
        new_case=case,
        existing=None,
        stored_text=inbound.text,
        events=tuple(events),
        notices=tuple(notices),
        reasons=tuple(f"{e.kind}: {e.detail}" for e in events),
    )
