"""A message that belongs to an existing case: a resident's follow-up, an officer's reply,
an automatic reply, or a delivery report about mail we sent on the case.

A resident is acknowledged once per case, however many follow-ups they send, and every
follow-up goes on to whoever is handling the case. Officers' mail is kept as casework
(their commands come later); robots are recorded and never answered.
"""

from __future__ import annotations

from mailbot.domain.acknowledge import SenderHistory, acknowledgement_allowed
from mailbot.domain.autoreply import may_auto_reply
from mailbot.domain.bounce import FAILED, bounce_verdict
from mailbot.domain.correlate import Correlation
from mailbot.domain.model import CaseSnapshot, Decision, EventRecord, Inbound, Notice
from mailbot.domain.quotes import strip_quoted
from mailbot.domain.rules import Rules


def decide_follow_up(inbound: Inbound, correlation: Correlation, case: CaseSnapshot,
                     history: SenderHistory, mailbox_role: str, rules: Rules) -> Decision:
    sender = inbound.from_.email if inbound.from_ else None
    actor = sender or "unknown"
    text = strip_quoted(inbound.text)
    events = [EventRecord("threaded", "; ".join(correlation.reasons), actor=actor)]
    notices: list[Notice] = []
    bounced: tuple[tuple[int, str], ...] = ()
    bounce = bounce_verdict(inbound)
    permission = may_auto_reply(inbound)

    if bounce.value:
        reason = "; ".join(bounce.reasons)
        events.append(EventRecord("bounce", reason, actor=actor))
        if bounce.value == FAILED and correlation.answering is not None:
            bounced = ((correlation.answering.outbox_id, reason),)
            events.append(EventRecord(
                "delivery_failed", f"outbox {correlation.answering.outbox_id} "
                                   f"({correlation.answering.template}) marked failed: {reason}"))
        text = inbound.text
    elif (sender or "").lower() in rules.staff_addresses or mailbox_role == "spoc":
        events.append(EventRecord("officer_message", "kept on the case as casework", actor=actor))
    elif not permission.allowed:
        events.append(EventRecord("no_acknowledgement", "; ".join(permission.reasons)))
    else:
        events.append(EventRecord("follow_up", f"{len(text)} characters from {actor}",
                                  actor=actor))
        service = rules.services.get(case.service) if case.service else None
        notices.append(Notice(
            template="routed_follow_up",
            to=(service.spoc if service else rules.council.feedback_team,),
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
    )
