"""A message that belongs to an existing case: a resident's follow-up, an officer's reply,
an automatic reply, or a delivery report about mail we sent on the case.

A resident is acknowledged once per case, however many follow-ups they send, and every
follow-up goes on to whoever is handling the case. Officers' mail is kept as casework
(their commands come later); robots are recorded and never answered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailbot.domain.acknowledge import SenderHistory, acknowledgement_allowed
from mailbot.domain.autoreply import may_auto_reply
from mailbot.domain.bounce import FAILED, bounce_verdict
from mailbot.domain.casework import (
    Casework,
    Work,
    decide_casework,
    open_next_stage,
    wants_stage2,
)
from mailbot.domain.correlate import Correlation
from mailbot.domain.model import CaseSnapshot, Decision, EventRecord, Inbound, Notice
from mailbot.domain.quotes import strip_quoted
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import Calendar, add_working_days, london_date


def _stage2_request(inbound: Inbound, case: CaseSnapshot, text: str, rules: Rules,
                    calendar: Calendar, now: dt.datetime) -> Casework | None:
    """A stage 1 contact asking for a review after the response: stage 2 within the
    window, otherwise the case stays closed and they are told where to go."""
    following = rules.procedures[case.kind].stages.get((case.stage or 1) + 1)
    if (case.status == "open" or following is None or not case.kind.is_complaint
            or case.responded_at is None or not wants_stage2(text, rules)):
        return None
    window = following.request_window_days or 0
    window_end = add_working_days(calendar, london_date(case.responded_at), window)
    if london_date(now) <= window_end:
        work = Work(case, now, calendar)
        done = open_next_stage(work, rules, "the resident asked for a review within the window")
        return Casework((EventRecord("stage2_requested", done, actor=inbound.from_.email
                                     if inbound.from_ else "unknown"),),
                        tuple(work.notices), work.changes, text)
    notice = Notice(template="window_closed", to=(case.contact,) if case.contact else (),
                    context={"window_end": window_end}, in_reply_to_inbound=True)
    return Casework((EventRecord("stage2_window_closed", f"asked after {window_end}: told "
                                 "the case is closed and how to reach the Ombudsman"),),
                    (notice,), {"status": "closed"}, text)


def decide_follow_up(inbound: Inbound, correlation: Correlation, case: CaseSnapshot,
                     history: SenderHistory, mailbox_role: str, rules: Rules,
                     calendar: Calendar, now: dt.datetime,
                     trusted_authserv_id: str | None = None) -> Decision:
    sender = inbound.from_.email if inbound.from_ else None
    actor = sender or "unknown"
    text = strip_quoted(inbound.text)
    events = [EventRecord("threaded", "; ".join(correlation.reasons), actor=actor)]
    notices: list[Notice] = []
    changes: dict[str, Any] = {}
    bounced: tuple[tuple[int, str], ...] = ()
    bounce = bounce_verdict(inbound)
    permission = may_auto_reply(inbound)
    staff = (sender or "").lower() in rules.staff_addresses or mailbox_role == "spoc"
    answering = correlation.answering.template if correlation.answering else None
    work = (decide_casework(inbound, case, rules, calendar, now, permission.allowed, answering,
                            trusted_authserv_id)
            if not bounce.value and (staff or inbound.text.lstrip().startswith("#")) else None)

    if bounce.value:
        reason = "; ".join(bounce.reasons)
        events.append(EventRecord("bounce", reason, actor=actor))
        if bounce.value == FAILED and correlation.answering is not None:
            bounced = ((correlation.answering.outbox_id, reason),)
            events.append(EventRecord(
                "delivery_failed", f"outbox {correlation.answering.outbox_id} "
                                   f"({correlation.answering.template}) marked failed: {reason}"))
        text = inbound.text
    elif work is not None:
        events.extend(work.events)
        notices.extend(work.notices)
        changes = work.changes
        text = work.stored_text
    elif staff:
        events.append(EventRecord("officer_message", "kept on the case as casework",
                                  actor=actor))
    elif not permission.allowed:
        events.append(EventRecord("no_acknowledgement", "; ".join(permission.reasons)))
    elif case.is_participant(sender) and (
            review := _stage2_request(inbound, case, text, rules, calendar, now)):
        events.extend(review.events)
        notices.extend(review.notices)
        changes = review.changes
    else:
        events.append(EventRecord("follow_up", f"{len(text)} characters from {actor}",
                                  actor=actor))
        service = rules.services.get(case.service) if case.service else None
        if (case.stage or 1) >= 2:  # stage 2 is the investigating officer's, not the service's
            service = None
        handler = (service.spoc if service else
                   rules.council.investigating_officer if (case.stage or 1) >= 2
                   and rules.council.investigating_officer else rules.council.feedback_team)
        notices.append(Notice(
            template="routed_follow_up",
            to=(handler,),
            context={"participant": case.is_participant(sender), "sender": actor,
                     "follow_up_text": text},
            auto_submitted="auto-generated",
            reply_to_role="spoc" if service else "feedback",
            in_reply_to_inbound=False,
            forward_attachments=True,
        ))
        acknowledge = acknowledgement_allowed(permission, history, rules)
        if not case.is_participant(sender):
            events.append(EventRecord("no_acknowledgement", f"{actor} is not a participant "
                                      "of this case: nothing about it is sent to them"))
        elif case.follow_up_acknowledged:
            events.append(EventRecord("no_acknowledgement",
                                      "a follow-up on this case was acknowledged already"))
        elif not acknowledge.value:
            events.append(EventRecord("no_acknowledgement", "; ".join(acknowledge.reasons)))
        elif case.contact is not None:
            notices.append(Notice(template="follow_up_acknowledgement", to=(case.contact,),
                                  context={}))
    return Decision(
        new_case=None,
        existing=case,
        stored_text=text,
        events=tuple(events),
        notices=tuple(notices),
        reasons=tuple(f"{e.kind}: {e.detail}" for e in events),
        bounced=bounced,
        changes=changes,
    )
