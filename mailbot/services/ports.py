"""What the services need from the outside world, as Protocols and plain values.

Services depend on these, not on SQLAlchemy or aiosmtplib, so the same intake runs behind
IMAP polling, the `ingest` command and the demo.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from mailbot.domain.correlate import ThreadKeys, ThreadMatches
from mailbot.domain.model import Address, CaseSnapshot, EventRecord, Inbound, NewCase
from mailbot.domain.summary import Counts, OpenCase


@dataclass(frozen=True)
class StoredCase:
    id: int
    reference: str
    token: str


@dataclass(frozen=True)
class OutboundMail:
    """A composed message ready to queue: the raw bytes are exactly what will be sent."""

    template: str
    message_id: str
    in_reply_to: str | None
    from_: Address
    envelope_from: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    raw: bytes
    sha256: str
    bounce_token: str


@dataclass(frozen=True)
class QueuedItem:
    id: int
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    attempts: int


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    kind: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class ChaseQuery:
    """Which open cases a chasing job is about: the conditions that are set all apply,
    and cases that already had this notice for this date are left out."""

    kind: str
    due_in: tuple[dt.date, ...] = ()
    due_by: dt.date | None = None
    # Acknowledgement date before this, and not acknowledged or not placed with a service.
    unacknowledged_by: dt.date | None = None
    # Only cases we have written to before (a contact who was acknowledged).
    written_to: bool = False
    # For repeated notices: only if none of this kind was sent after this date.
    quiet_since: dt.date | None = None


class NotAnEmail(ValueError):
    """Bytes that cannot be treated as a message; the text is the reason kept in quarantine."""


class StoreUnavailable(Exception):
    """The database cannot be reached or is locked: try the message again later, never
    quarantine it for that."""


class Conflict(Exception):
    """Another process committed the same thing first (same message, same reference)."""


class Transaction(Protocol):
    def find_duplicate(self, inbound: Inbound) -> str | None: ...
    def reference_taken(self, reference: str) -> bool: ...
    def add_case(self, case: NewCase, reference: str, token: str) -> StoredCase: ...
    def add_inbound(self, case_id: int | None, inbound: Inbound, text: str, mailbox: str,
                    at: dt.datetime) -> int: ...
    def thread_matches(self, keys: ThreadKeys) -> ThreadMatches: ...
    def acknowledgements_since(self, email: str, since: dt.datetime) -> int: ...
    def mark_bounced(self, item_id: int, reason: str) -> bool: ...
    def update_case(self, case_id: int, changes: dict[str, Any]) -> None: ...
    def quarantined_message(self, item_id: int) -> tuple[bytes, str | None] | None: ...
    def mark_released(self, item_id: int, at: dt.datetime, outcome: str) -> None: ...
    def mailbox_state(self, name: str) -> MailboxState: ...
    def save_mailbox_state(self, name: str, uidvalidity: int | None, last_uid: int,
                           at: dt.datetime, error: str | None) -> None: ...
    def add_events(self, case_id: int, events: tuple[EventRecord, ...],
                   at: dt.datetime) -> None: ...
    def queue(self, case_id: int | None, mail: OutboundMail, at: dt.datetime) -> int: ...
    def queue_many(self, items: list[tuple[int | None, OutboundMail]],
                   at: dt.datetime) -> list[int]: ...
    def quarantine(self, raw: bytes, sha256: str, mailbox: str | None, reason: str,
                   at: dt.datetime) -> tuple[int, bool]: ...
    def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta,
                  owner: str) -> list[QueuedItem]: ...
    def begin_send(self, item_id: int, owner: str, now: dt.datetime,
                   lease: dt.timedelta) -> bool: ...
    def mark_sent(self, item_id: int, at: dt.datetime) -> None: ...
    def release(self, item_ids: list[int], owner: str) -> None: ...
    def release_stale(self, owner: str, now: dt.datetime, in_flight: dt.timedelta) -> int: ...
    def mark_retry(self, item_id: int, error: str, next_try: dt.datetime) -> None: ...
    def mark_failed(self, item_id: int, error: str) -> None: ...
    def chase_candidates(self, query: ChaseQuery, limit: int) -> list[CaseSnapshot]: ...
    def record_chase(self, key: str, kind: str, case_id: int | None, due_on: dt.date | None,
                     sent_on: dt.date, outbox_id: int | None, at: dt.datetime) -> None: ...
    def chased(self, key: str) -> bool: ...
    def close_responded(self, kind: str, stage: int | None, responded_before: dt.datetime,
                        detail: str, at: dt.datetime) -> int: ...
    def responded_groups(self) -> list[tuple[str, int | None]]: ...
    def summary_counts(self, since: dt.datetime, until: dt.datetime
                       ) -> dict[str | None, Counts]: ...
    def open_cases_due(self, until: dt.date) -> list[OpenCase]: ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]: ...
    def cases(self, where: CaseFilter) -> list[dict[str, Any]]: ...
    def case_detail(self, reference: str) -> dict[str, Any] | None: ...
    def outbox(self, status: str | None = None) -> list[dict[str, Any]]: ...
    def quarantined(self, include_released: bool = False) -> list[dict[str, Any]]: ...


class SourceError(Exception):
    """A mailbox could not be read: connection refused or lost, login failed, server error.
    The poller reconnects with backoff; other mailboxes carry on."""


class MailSource(Protocol):
    """One polled mailbox while connected (a context manager)."""

    name: str

    def __enter__(self) -> MailSource: ...
    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None: ...
    def uidvalidity(self) -> int: ...
    def pending(self) -> list[int]: ...
    def fetch(self, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]: ...
    def move(self, uids: Sequence[int], quarantine: bool) -> None: ...
    def wait_for_mail(self, stop: threading.Event) -> None: ...


@dataclass(frozen=True)
class MailboxState:
    uidvalidity: int | None
    last_uid: int


class SendError(Exception):
    """A delivery failure; `permanent` says whether trying again could help."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class MailSession(Protocol):
    async def send(self, envelope_from: str, recipients: tuple[str, ...], raw: bytes) -> None:
        """Deliver one message or raise SendError."""
        ...


class MailSender(Protocol):
    # The longest one message's transaction can take before the sender gives up on it.
    send_deadline: float
    # How many connections the relay may be sent over at once.
    connections: int

    def connect(self) -> AbstractAsyncContextManager[MailSession]:
        """An open connection to the relay, or SendError(permanent=False) if it is down."""
        ...



class Lease(Protocol):
    def held(self) -> bool: ...
    def release(self) -> None: ...


class Locks(Protocol):
    """Named locks shared by every process on the database (see adapters/db/locks.py)."""

    def try_acquire(self, name: str) -> Lease | None: ...


class _Unshared:
    def held(self) -> bool:
        return True

    def release(self) -> None:
        return None


class NoLocks:
    """For a database no other process uses (tests, a single `mailbot` command)."""

    def try_acquire(self, name: str) -> Lease | None:
        return _Unshared()
