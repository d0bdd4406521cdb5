"""Officers working a case by email: who may, what each command does, what is sent.

Commands apply whole or not at all: if any command is wrong, or the sender may not work
this case, nothing changes and the sender gets one short reply saying why (a stranger is
told nothing about the case). Otherwise each change is an event, the officer gets one
confirmation, and the resident gets what the procedure owes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from mailbot.domain.authentication import sender_authenticated
from mailbot.domain.commands import NATURES, Command, CommandError, parse_commands
from mailbot.domain.model import Address, CaseSnapshot, EventRecord, Inbound, Notice, Ombudsman
from mailbot.domain.procedures import first_deadlines
from mailbot.domain.quotes import strip_quoted
from mailbot.domain.route import choose_ombudsman
from mailbot.domain.rules import Rules
from mailbot.domain.scoring import score
from mailbot.domain.workdays import Calendar, add_working_days, london_date

FEEDBACK, SERVICE = "feedback", "service"
# Mail that only officers receive: a command must answer one of these, so a resident, who
# has the case token from their own letters, cannot forge an officer's command.
OFFICER_TEMPLATES = frozenset({"routed_case", "routed_follow_up", "command_reply", "reminder",
                               "overdue", "escalation", "ack_warning"})
# Where each command may be used (statuses; "any" is not listed).
ALLOWED_IN = {
    "respond": ("open",), "extend": ("open",), "reassign": ("open",), "exclude": ("open",),
    "reclassify": ("open",), "withdraw": ("open", "responded"),
    "close": ("open", "responded"), "stage2": ("responded", "closed"),
}


@dataclass
class Work:
    """The case as the commands leave it, plus what to record and send."""

    case: CaseSnapshot
    now: dt.datetime
    calendar: Calendar
    changes: dict[str, Any] = field(default_factory=dict)
    events: list[EventRecord] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    done: list[str] = field(default_factory=list)

    def get(self, name: str) -> object:
        return self.changes.get(name, getattr(self.case, name, None))

    @property
    def today(self) -> dt.date:
        return london_date(self.now)

    @property
    def constituent(self) -> Address | None:
        email = self.get("constituent_email")
        if "constituent_email" in self.changes and isinstance(email, str):
            return Address(str(self.get("constituent_name") or ""), email)
        return self.case.constituent


def role_of(sender: str | None, case: CaseSnapshot, rules: Rules) -> str | None:
    """From stage 2 on the case belongs to the Feedback Team and the investigating officer,
    never to the service that answered stage 1."""
    email = (sender or "").lower()
    investigator = rules.council.investigating_officer
    if email in rules.council.feedback_authorised or (
            investigator is not None and email == investigator.email.lower()):
        return FEEDBACK
    if (case.stage or 1) >= 2:
        return None
    service = rules.services.get(case.service) if case.service else None
    if service is not None and email in service.authorised:
        return SERVICE
    return None


def command_reply(to: str, subject: str, lines: list[str], reference: str | None) -> Notice:
    return Notice(template="command_reply", to=(Address("", to),),
                  context={"reply_subject": subject, "reply_lines": lines,
                           "show_reference": reference is not None},
                  auto_submitted="auto-replied")


def _respond(work: Work, command: Command, body: str, rules: Rules) -> str:
    case = work.case
    if work.get("status") != "open":
        raise CommandError(f"the case is {work.get('status')}, not open: nothing to respond to")
    if not body.strip():
        raise CommandError("#respond needs the response text below the command")
    procedure = rules.procedures[case.kind]
    stage = procedure.stages.get(case.stage or 1)
    due = case.original_due or case.response_due
    if stage is not None and stage.performance_days and case.acknowledged_on:
        due = add_working_days(work.calendar, case.acknowledged_on, stage.performance_days)
    on_time = due is None or work.today <= due
    next_stage = procedure.stages.get((case.stage or 1) + 1) if case.kind.is_complaint else None
    request_by = (add_working_days(work.calendar, work.today,
                                   next_stage.request_window_days)
                  if next_stage and next_stage.request_window_days else None)
    work.changes.update(status="responded", outcome=command.outcome, responded_at=work.now,
                        on_time=on_time)
    copy = (work.constituent,) if work.constituent and rules.council.copy_constituent else ()
    work.notices.append(Notice(
        template="response", to=(case.contact,) if case.contact else (), cc=copy,
        context={"outcome": command.outcome, "response_text": body,
                 "stage2_request_by": request_by, "final_stage": next_stage is None,
                 "copied_to": copy[0].name or copy[0].email if copy else None},
        auto_submitted="no", in_reply_to_inbound=False, forward_attachments=True))
    return (f"responded (outcome {command.outcome}, "
            f"{'on time' if on_time else 'late'} against {due.isoformat() if due else 'no date'})")


def _extend(work: Work, command: Command, role: str, rules: Rules) -> str:
    case = work.case
    due = work.get("response_due")
    if work.get("status") != "open" or not isinstance(due, dt.date):
        raise CommandError("only an open case with a response date can be extended")
    stage = rules.procedures[case.kind].stages.get(case.stage or 1)
    cap = stage.extension_max_days if stage else 0
    total = int(str(work.get("extended_days") or 0)) + int(command.days or 0)
    if total > cap and not (command.force and role == FEEDBACK):
        raise CommandError(f"that makes {total} working days of extension at stage "
                           f"{case.stage or 1}, over the {cap} allowed; a Feedback Team member "
                           "can add 'force' with good reason")
    new_due = add_working_days(work.calendar, due, int(command.days or 0))
    work.changes.update(response_due=new_due, extended_days=total)
    work.notices.append(Notice(
        template="extension_notice", to=(case.contact,) if case.contact else (),
        context={"new_due": new_due, "reason": command.text, "days": command.days},
        auto_submitted="auto-generated", in_reply_to_inbound=False))
    return f"extended by {command.days} working days to {new_due.isoformat()} ({command.text})"


def _reassign(work: Work, command: Command, rules: Rules, text: str) -> str:
    wanted = command.text.strip().lower()
    service = rules.services.get(wanted) or next(
        (s for s in rules.services.values() if s.name.lower() == wanted), None)
    if service is None:
        raise CommandError(f"no service {command.text!r} (known: {', '.join(rules.services)})")
    ombudsman = choose_ombudsman(work.case.kind, service, text, rules).value
    work.changes.update(service=service.key, directorate=service.directorate,
                        ombudsman=Ombudsman(str(ombudsman)) if ombudsman else None)
    work.notices.append(Notice(
        template="routed_case", to=(service.spoc,),
        context={"reasons": [f"reassigned to {service.name} by an officer"]},
        auto_submitted="auto-generated", reply_to_role="spoc", in_reply_to_inbound=False))
    return f"reassigned to {service.name}"


def open_next_stage(work: Work, rules: Rules, why: str) -> str:
    """Stage 2 (or a statutory stage 3), investigated independently of the service."""
    case = work.case
    number = (case.stage or 1) + 1
    stage = rules.procedures[case.kind].stages.get(number) if case.kind.is_complaint else None
    if stage is None:
        raise CommandError(f"a {case.kind.label} at stage {case.stage or 1} has no further stage")
    due = add_working_days(work.calendar, work.today, stage.respond_days)
    work.changes.update(stage=number, status="open", acknowledged_on=work.today,
                        response_due=due,
                        original_due=due, extended_days=0, outcome=None, responded_at=None,
                        on_time=None)
    investigator = rules.council.investigating_officer or rules.council.feedback_team
    work.notices.append(Notice(template="stage2_acknowledgement",
                               to=(case.contact,) if case.contact else (),
                               context={"stage2_due": due}, in_reply_to_inbound=False))
    work.notices.append(Notice(
        template="routed_case", to=(investigator,),
        context={"reasons": [f"stage {number} opened: {why}", "investigated independently of "
                             "the service that answered the previous stage"]},
        auto_submitted="auto-generated", reply_to_role="feedback", in_reply_to_inbound=False,
        forward_attachments=True))
    return f"stage {number} opened, response due {due.isoformat()}"


def _apply(work: Work, command: Command, role: str, body: str, rules: Rules,
           actor: str) -> str:
    name = command.name
    allowed = ALLOWED_IN.get(name)
    if allowed and work.get("status") not in allowed:
        raise CommandError(f"not possible while the case is {work.get('status')} "
                           f"(only when {' or '.join(allowed)})")
    if name == "respond":
        return _respond(work, command, body, rules)
    if name == "extend":
        return _extend(work, command, role, rules)
    if name == "reassign":
        return _reassign(work, command, rules, body)
    if name == "note":
        return f"note: {command.text}"
    if name in ("close", "withdraw"):
        if work.get("status") == "closed":
            raise CommandError("the case is already closed")
        work.changes.update(status="closed", **({"outcome": "withdrawn"}
                                                if name == "withdraw" else {}))
        return "closed" if name == "close" else "withdrawn and closed"
    if name == "reclassify":
        kind = command.kind or work.case.kind
        if (work.case.stage or 1) > 1:
            raise CommandError("only a stage 1 case can be reclassified")
        ombudsman = choose_ombudsman(kind, rules.services.get(str(work.get("service"))),
                                     body, rules).value
        # The new kind's timescale, from the same receipt and acknowledgement: a service
        # request owes no response date, a complaint does.
        due = first_deadlines(rules.procedures[kind], 1, london_date(work.case.received_at),
                              work.case.acknowledged_on, work.calendar).response_due
        work.changes.update(kind=kind, stage=1 if kind.is_complaint else None,
                            ombudsman=Ombudsman(str(ombudsman)) if ombudsman else None,
                            response_due=due, original_due=due, extended_days=0)
        return (f"reclassified as {kind.label}, response due "
                f"{due.isoformat() if due else 'none (no response owed)'}")
    if name == "natures":
        work.changes.update(natures=list(command.natures))
        return "natures: " + ", ".join(NATURES[n] for n in command.natures)
    if name == "constituent" and command.address is not None:
        work.changes.update(constituent_name=command.address.name,
                            constituent_email=command.address.email)
        copied = "copied on" if rules.council.copy_constituent else "not copied on (rules)"
        return f"constituent recorded: {command.address.email}, {copied} the response"
    if name == "adjustments":
        work.changes.update(adjustments=command.text)
        return f"reasonable adjustments recorded: {command.text}"
    if name == "exclude":
        work.changes.update(status="closed", outcome="out_of_jurisdiction")
        work.notices.append(Notice(
            template="exclusion", to=(work.case.contact,) if work.case.contact else (),
            context={"reason": command.text}, in_reply_to_inbound=False))
        return f"excluded from the procedure: {command.text}"
    if role != FEEDBACK:
        raise CommandError("only the Feedback Team can open the next stage with #stage2")
    return open_next_stage(work, rules, f"by the Feedback Team ({actor})")


@dataclass(frozen=True)
class Casework:
    events: tuple[EventRecord, ...]
    notices: tuple[Notice, ...]
    changes: dict[str, Any]
    stored_text: str


def decide_casework(inbound: Inbound, case: CaseSnapshot, rules: Rules, calendar: Calendar,
                    now: dt.datetime, may_reply: bool, answering_template: str | None,
                    trusted_authserv_id: str | None = None) -> Casework | None:
    """None when the message holds no commands (it is then handled as ordinary mail)."""
    sender = inbound.from_.email if inbound.from_ else None
    actor = sender or "unknown"
    role = role_of(sender, case, rules)
    try:
        parsed = parse_commands(inbound.text)
    except CommandError as error:
        if role is None:
            return None  # a resident's "#1 problem" is just their message
        return _refused(inbound, case, rules, actor, str(error), may_reply)
    if not parsed.commands:
        return None
    if role is None or answering_template not in OFFICER_TEMPLATES:
        why = ("commands are only accepted from the officers who handle this case"
               if role is None else "commands must be a reply to the case email sent to "
               "officers")
        return _refused(inbound, case, rules, actor, why, may_reply, stranger=True)
    trusted = sender_authenticated(inbound.authentication_results, trusted_authserv_id, sender)
    if trusted.value is None:
        return _refused(inbound, case, rules, actor, "the sender could not be confirmed ("
                        f"{trusted.reasons[0]}); commands need authenticated mail",
                        may_reply, stranger=True)
    work = Work(case, now, calendar)
    body = strip_quoted(parsed.body, answer_below=False)
    try:
        for command in parsed.commands:
            work.done.append(_apply(work, command, role, body, rules, actor))
            work.events.append(EventRecord(f"command_{command.name}", work.done[-1],
                                           actor=actor))
    except CommandError as error:
        return _refused(inbound, case, rules, actor, f"#{command.name}: {error}", may_reply)
    if may_reply and sender and sender.isascii():
        work.notices.append(command_reply(sender, f"Done: {case.reference}", work.done,
                                          case.reference))
    return Casework(tuple(work.events), tuple(work.notices), work.changes, body)


def _refused(inbound: Inbound, case: CaseSnapshot, rules: Rules, actor: str, why: str,
             may_reply: bool, stranger: bool = False) -> Casework:
    notices: tuple[Notice, ...] = ()
    if may_reply and inbound.from_ is not None and inbound.from_.email.isascii():
        notices = (command_reply(inbound.from_.email,
                                 "Your message was not acted on" if stranger
                                 else f"Not done: {case.reference}",
                                 [why, "Nothing was changed."],
                                 None if stranger else case.reference),)
    return Casework((EventRecord("command_refused", why, actor=actor),), notices, {},
                    strip_quoted(inbound.text))


def wants_stage2(text: str, rules: Rules) -> bool:
    return score(rules.escalation, text).total >= rules.escalation_min_score
