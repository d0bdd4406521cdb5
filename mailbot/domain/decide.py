"""The decision for a message that opens a new case: kind, service, Ombudsman, dates, mail.

Pure: the shell passes the parsed message, the rules, the calendar and the time, and turns
the returned Decision into rows and outbox items in one transaction.
"""

from __future__ import annotations

import datetime as dt

from mailbot.domain.autoreply import may_auto_reply
from mailbot.domain.classify import apply_statutory, classify_kind
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

# What a person reads to judge a message is its opening; a 10 MB paste must not make every
# keyword search slow.
CLASSIFY_CHARS = 20_000


def classifiable_text(inbound: Inbound) -> str:
    return f"{inbound.subject}\n{inbound.text[:CLASSIFY_CHARS]}"


def decide_new_case(
    inbound: Inbound, rules: Rules, calendar: Calendar, now: dt.datetime
) -> Decision:
    text = classifiable_text(inbound)
    permission = may_auto_reply(inbound)
    kind_verdict = classify_kind(text, inbound.from_.email if inbound.from_ else None, rules.kinds)
    kind = Kind(str(kind_verdict.value))
    route = (route_service(text, rules) if permission.allowed else
             Verdict(None, ("automatic or unanswerable message: left for Feedback Team triage",)))
    service = rules.services[str(route.value)] if route.value is not None else None
    statutory = apply_statutory(kind, service.statutory if service else None,
                                service.name if service else "")
    kind = Kind(str(statutory.value))
    ombudsman = choose_ombudsman(kind, service, text, rules)

    received = london_date(now)
    acknowledged = received if permission.allowed else None
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
    if permission.allowed and inbound.contact is not None:
        notices.append(Notice(template="acknowledgement", to=(inbound.contact,), context={}))
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
    events = (
        EventRecord("classified", "; ".join((*kind_verdict.reasons, *statutory.reasons))),
        EventRecord("routed" if service else "triage", "; ".join((placed, *route.reasons))),
        EventRecord("ombudsman", "; ".join(ombudsman.reasons)),
        EventRecord("deadlines", "; ".join(deadlines.reasons)),
        EventRecord("acknowledgement" if permission.allowed else "no_acknowledgement",
                    "; ".join(permission.reasons)),
    )
    return Decision(
        case=case,
        events=events,
        notices=tuple(notices),
        reasons=tuple(f"{e.kind}: {e.detail}" for e in events),
    )
