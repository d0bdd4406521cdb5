"""Plain values that flow between the parser, the domain and the shell.

They are frozen so that a decision can never be changed behind the back of the code that
made it, and they hold no I/O handles so that every domain function is testable with
literals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    COMPLAINT = "complaint"
    MP_ENQUIRY = "mp_enquiry"
    COMMENT = "comment"
    COMPLIMENT = "compliment"
    SERVICE_REQUEST = "service_request"
    CHILDRENS_STATUTORY = "childrens_statutory"
    ADULT_SOCIAL_CARE = "adult_social_care"

    @property
    def is_complaint(self) -> bool:
        """Complaints (corporate or statutory) have stages and carry Ombudsman details."""
        return self in COMPLAINT_KINDS

    @property
    def label(self) -> str:
        """How a letter names the kind."""
        return _LABELS[self]


COMPLAINT_KINDS = frozenset(
    {Kind.COMPLAINT, Kind.CHILDRENS_STATUTORY, Kind.ADULT_SOCIAL_CARE}
)

_LABELS = {
    Kind.COMPLAINT: "complaint",
    Kind.MP_ENQUIRY: "MP enquiry",
    Kind.COMMENT: "comment",
    Kind.COMPLIMENT: "compliment",
    Kind.SERVICE_REQUEST: "service request",
    Kind.CHILDRENS_STATUTORY: "children's social care complaint",
    Kind.ADULT_SOCIAL_CARE: "adult social care complaint",
}


class Ombudsman(StrEnum):
    LGSCO = "lgsco"
    HOUSING = "housing"


@dataclass(frozen=True)
class Address:
    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    content: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class DeliveryReport:
    """The machine-readable part of a DSN (RFC 3464): what happened to which recipients."""

    action: str  # failed | delayed | delivered | relayed | expanded | "" when absent
    status: str  # e.g. 5.1.1
    recipients: tuple[str, ...]
    diagnostic: str

    @property
    def is_failure(self) -> bool:
        return self.action == "failed" or (not self.action and self.status.startswith("5"))


OPENING_CHARS = 20_000


@dataclass(frozen=True)
class Inbound:
    """Everything the shell extracts from one raw message, once.

    Nothing downstream re-parses the raw bytes; `raw` rides along only to be stored.
    """

    raw: bytes = field(repr=False)
    raw_sha256: str
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    subject: str
    date: dt.datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    auto_headers: dict[str, str]
    content_type: str
    return_path: str | None
    authentication_results: tuple[str, ...]
    delivery_report: DeliveryReport | None = None
    # Delivered-To / X-Original-To: the address the message really came in on.
    delivered_to: tuple[Address, ...] = ()
    # Message-IDs of other messages quoted inside this one: a bounce's original, a forward.
    embedded_message_ids: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def contact(self) -> Address | None:
        """Whom a person would answer: the first Reply-To, else the sender."""
        return self.reply_to[0] if self.reply_to else self.from_

    @property
    def opening(self) -> str:
        """Subject and the start of the text: what a person reads to judge a message.
        Rules search only this, so a 10 MB paste cannot make every search slow."""
        return f"{self.subject}\n{self.text[:OPENING_CHARS]}"


@dataclass(frozen=True)
class Verdict:
    """A decision with the reasons a person can read (`show` prints them, tests assert them)."""

    value: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    """An email the domain wants sent; the shell renders the template and queues it."""

    template: str
    to: tuple[Address, ...]
    context: dict[str, Any]
    cc: tuple[Address, ...] = ()
    auto_submitted: str = "auto-replied"
    reply_to_role: str = "feedback"
    in_reply_to_inbound: bool = True
    forward_attachments: bool = False


@dataclass(frozen=True)
class EventRecord:
    kind: str
    detail: str
    actor: str = "mailbot"


@dataclass(frozen=True)
class NewCase:
    """The parts of a case that the domain decides when a message opens it."""

    kind: Kind
    stage: int | None
    service: str | None
    directorate: str | None
    ombudsman: Ombudsman | None
    contact: Address | None
    subject: str
    received_at: dt.datetime
    acknowledge_due: dt.date | None
    acknowledged_on: dt.date | None
    response_due: dt.date | None


@dataclass(frozen=True)
class Decision:
    """What should happen to one inbound message, as data.

    Exactly one of `new_case` and `existing` is set. The intake service turns this into
    rows in one transaction; nothing here has happened yet.
    """

    new_case: NewCase | None
    existing: CaseSnapshot | None
    stored_text: str
    events: tuple[EventRecord, ...]
    notices: tuple[Notice, ...]
    reasons: tuple[str, ...]
    # Outbox items this message reports as undeliverable: (outbox id, reason).
    bounced: tuple[tuple[int, str], ...] = ()
    # Columns of an existing case to change (casework): name -> new value.
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseSnapshot:
    """What the domain needs to know about an existing case to decide about a new message."""

    id: int
    reference: str
    token: str
    kind: Kind
    stage: int | None
    status: str
    service: str | None
    directorate: str | None
    ombudsman: Ombudsman | None
    contact: Address | None
    received_at: dt.datetime
    response_due: dt.date | None
    participants: frozenset[str]
    follow_up_acknowledged: bool
    original_due: dt.date | None = None
    acknowledged_on: dt.date | None = None
    acknowledge_due: dt.date | None = None
    extended_days: int = 0
    outcome: str | None = None
    responded_at: dt.datetime | None = None
    constituent: Address | None = None

    def is_participant(self, email: str | None) -> bool:
        return bool(email) and str(email).lower() in self.participants


@dataclass(frozen=True)
class OurMessage:
    """A message mailbot sent, found by its Message-ID or bounce token."""

    case: CaseSnapshot | None
    outbox_id: int
    template: str
