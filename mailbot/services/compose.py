"""Turn a Notice into the exact bytes that will be sent: context, template, headers.

Composition happens inside the intake transaction (compose, save, then send), so what the
outbox holds is what the recipient gets, and a resend after a crash is byte-identical.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

from mailbot.domain.attachments import split_for_forwarding
from mailbot.domain.correlate import BOUNCE_TAG
from mailbot.domain.model import Address, Attachment, CaseSnapshot, Inbound, NewCase, Notice
from mailbot.domain.reference import make_token
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import london_date
from mailbot.mime import Envelope, build_message
from mailbot.rendering import Renderer
from mailbot.services.ports import OutboundMail, StoredCase


@dataclass(frozen=True)
class MailIdentity:
    """Who mailbot is on the wire: its From, its Message-ID domain, its reply mailboxes."""

    sender: Address
    domain: str
    reply_mailboxes: dict[str, str]

    def reply_address(self, role: str, token: str | None) -> str:
        """The role's mailbox with the case token as a sub-address: `feedback+<token>@…`."""
        address = self.reply_mailboxes.get(role) or self.reply_mailboxes["feedback"]
        if token is None:
            return address
        local, _, domain = address.partition("@")
        return f"{local}+{token}@{domain}"

    def new_message_id(self, token: str | None) -> str:
        suffix = f".{token}" if token else ""
        return f"<{secrets.token_hex(8)}{suffix}@{self.domain}>"

    @property
    def own_domains(self) -> frozenset[str]:
        """Domains our Message-IDs and reply addresses use, lower-cased."""
        return frozenset({self.domain.lower(), *(a.rpartition("@")[2].lower()
                                                 for a in self.reply_mailboxes.values())})

    @property
    def reply_locals(self) -> frozenset[str]:
        """Local parts of our reply mailboxes: `feedback` in `feedback+<token>@…`."""
        return frozenset(a.partition("@")[0].lower() for a in self.reply_mailboxes.values())

    def bounce_address(self, bounce_token: str) -> str:
        """VERP: the envelope sender names the outbox item, so a bounce says what failed
        even when it quotes nothing of the original."""
        local, _, domain = self.reply_mailboxes["feedback"].partition("@")
        return f"{local}+{BOUNCE_TAG}{bounce_token}@{domain}"


_NOT_A_NAME = re.compile(r"https?:|www\.|@|://|[<>{}\[\]|\\]", re.IGNORECASE)


def salutation(name: str) -> str:
    """The name to greet, or "" for "Sir or Madam": a display name is whatever the sender
    typed, and a council letter must not carry a link or a slogan to a stranger."""
    name = " ".join(name.split())
    return "" if len(name) > 60 or _NOT_A_NAME.search(name) else name


def snapshot_of(case: NewCase, stored: StoredCase) -> CaseSnapshot:
    """The just-created case as the domain and templates see any case."""
    return CaseSnapshot(
        id=stored.id, reference=stored.reference, token=stored.token, kind=case.kind,
        stage=case.stage, status="open", service=case.service, directorate=case.directorate,
        ombudsman=case.ombudsman, contact=case.contact, received_at=case.received_at,
        response_due=case.response_due, original_due=case.response_due,
        acknowledged_on=case.acknowledged_on, acknowledge_due=case.acknowledge_due,
        participants=frozenset({case.contact.email.lower()} if case.contact else ()),
        follow_up_acknowledged=False)


def council_context(rules: Rules) -> dict[str, Any]:
    """What every template may say about the council itself. Templates read the rules'
    own (frozen) values by attribute; copying them into dicts for every message cost a
    tenth of composing it."""
    return {"council": rules.council}


def case_context(case: CaseSnapshot, rules: Rules) -> dict[str, Any]:
    service = rules.services.get(case.service) if case.service else None
    directorate = rules.directorates.get(case.directorate) if case.directorate else None
    ombudsman = rules.ombudsmen[case.ombudsman] if case.ombudsman else None
    return {
        **council_context(rules),
        "case": {
            "reference": case.reference,
            "kind": case.kind.value,
            "kind_label": case.kind.label,
            "stage": case.stage,
            "service_name": service.name if service else None,
            "directorate_name": directorate.name if directorate else None,
            "contact_name": case.contact.name if case.contact else "",
            "salutation": salutation(case.contact.name) if case.contact else "",
            "contact_email": case.contact.email if case.contact else "",
            "received": london_date(case.received_at),
            "response_due": case.response_due,
        },
        "ombudsman": ombudsman,
    }


def inbound_context(inbound: Inbound, withheld: tuple[Attachment, ...]) -> dict[str, Any]:
    return {
        "subject": inbound.subject,
        "text": inbound.text,
        "attachments": [a.filename for a in inbound.attachments if a not in withheld],
        "withheld": [f"{a.filename} ({a.size / 2**20:.1f} MB)" for a in withheld],
    }


def compose(notice: Notice, base_context: dict[str, Any], inbound: Inbound | None,
            token: str | None, identity: MailIdentity, renderer: Renderer, now: dt.datetime,
            forward_limit: int = 0) -> OutboundMail:
    """`inbound` is the message being answered, if any (scheduled mail answers none);
    `token` is the case's, if the mail is about one case (a summary is about many)."""
    attachments, withheld = split_for_forwarding(
        inbound.attachments if inbound and notice.forward_attachments else (), forward_limit)
    answered = {"inbound": inbound_context(inbound, withheld)} if inbound else {}
    context = {**base_context, **answered, **notice.context}
    rendered = renderer.render(notice.template, context)
    message_id = identity.new_message_id(token)
    bounce_token = make_token(secrets.token_bytes(32))
    answering = inbound.message_id if inbound and notice.in_reply_to_inbound else None
    envelope = Envelope(
        from_=identity.sender,
        to=notice.to,
        cc=notice.cc,
        reply_to=identity.reply_address(notice.reply_to_role, token),
        message_id=message_id,
        in_reply_to=answering,
        references=(*inbound.references, answering) if inbound and answering else (),
        auto_submitted=notice.auto_submitted,
        date=now,
    )
    raw, sha256 = build_message(envelope, rendered, attachments)
    return OutboundMail(
        template=notice.template,
        message_id=message_id,
        in_reply_to=envelope.in_reply_to,
        from_=identity.sender,
        envelope_from=identity.bounce_address(bounce_token),
        recipients=tuple(a.email for a in (*notice.to, *notice.cc)),
        subject=rendered.subject,
        text=rendered.text,
        raw=raw,
        sha256=sha256,
        bounce_token=bounce_token,
    )
