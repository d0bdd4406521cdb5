"""The outbox's life after queueing: claimed by one sender, then sent, retried, failed or
bounced. Part of the one transaction object services use (see repository.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from mailbot.adapters.db.orm import OUTBOX, MessageRow, OutboxRow
from mailbot.services.ports import QueuedItem

_UNCLAIMED: dict[str, Any] = {"claimed_until": None, "claimed_by": None, "sending_at": None}


class OutboxRows:
    session: Session

    def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta,
                  owner: str) -> list[QueuedItem]:
        """Claim up to `limit` due items for sender `owner` until `now + lease`.

        Each claim is a conditional UPDATE, so of two senders racing for an item exactly
        one wins it, on SQLite and PostgreSQL alike; a claim left by a crashed sender
        expires (or is released by the next holder of the outbox) and the item is sent
        again, with the same bytes and Message-ID.
        """
        free = or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until <= now)
        candidates = self.session.scalars(
            select(OutboxRow.id).where(OutboxRow.status == "queued", OutboxRow.next_try <= now,
                                       free).order_by(OutboxRow.id).limit(limit)).all()
        claim = update(OutboxRow).where(OutboxRow.status == "queued", free) \
            .values(claimed_until=now + lease, claimed_by=owner, sending_at=None)
        claimed = [item for item in candidates if cast(
            CursorResult[Any], self.session.execute(claim.where(OutboxRow.id == item))
        ).rowcount == 1]
        rows = self.session.execute(
            select(OutboxRow, MessageRow).join(MessageRow, OutboxRow.message_pk == MessageRow.id)
            .where(OutboxRow.id.in_(claimed)).order_by(OutboxRow.id)).all()
        return [QueuedItem(o.id, o.envelope_from, tuple(m.to), m.raw, o.attempts)
                for o, m in rows]

    def begin_send(self, item_id: int, owner: str, now: dt.datetime,
                   lease: dt.timedelta) -> bool:
        """Still ours? Then it is in flight from `now`. False if another sender took the
        claim over meanwhile (ours was released as stale): then we must not send it."""
        started = update(OutboxRow).where(
            OutboxRow.id == item_id, OutboxRow.status == "queued",
            OutboxRow.claimed_by == owner).values(sending_at=now, claimed_until=now + lease)
        return cast(CursorResult[Any], self.session.execute(started)).rowcount == 1

    def release(self, item_ids: list[int], owner: str) -> None:
        """Give back this sender's claims it will not use (it is stopping), so the items go
        at once after a restart instead of when the lease runs out."""
        if item_ids:
            self.session.execute(update(OutboxRow).where(
                OutboxRow.id.in_(item_ids), OutboxRow.status == "queued",
                OutboxRow.claimed_by == owner).values(_UNCLAIMED))

    def release_stale(self, owner: str, now: dt.datetime, in_flight: dt.timedelta) -> int:
        """Other senders' claims, for the new holder of the outbox: any it did not make
        were left by a sender that died or lost the outbox, and go now, except an item
        that sender may still be sending, which waits until its transaction must be over."""
        stale = update(OutboxRow).where(
            OutboxRow.status == "queued", OutboxRow.claimed_until.is_not(None),
            or_(OutboxRow.claimed_by.is_(None), OutboxRow.claimed_by != owner),
            or_(OutboxRow.sending_at.is_(None), OutboxRow.sending_at <= now - in_flight))
        return cast(CursorResult[Any], self.session.execute(stale.values(_UNCLAIMED))).rowcount

    def _finish(self, item_id: int, **values: Any) -> None:
        """One UPDATE (the sender's commit per message sent is on the hot path)."""
        values.setdefault("last_error", None)
        done = self.session.execute(update(OUTBOX).where(OUTBOX.c.id == item_id).values(
            attempts=OUTBOX.c.attempts + 1, **{**_UNCLAIMED, **values}))
        if cast(CursorResult[Any], done).rowcount != 1:
            raise NoResultFound(f"no outbox item {item_id}")

    def mark_sent(self, item_id: int, at: dt.datetime) -> None:
        self._finish(item_id, status="sent", sent_at=at)

    def mark_retry(self, item_id: int, error: str, next_try: dt.datetime) -> None:
        self._finish(item_id, last_error=error, next_try=next_try)

    def mark_failed(self, item_id: int, error: str) -> None:
        self._finish(item_id, status="failed", last_error=error)

    def mark_bounced(self, item_id: int, reason: str) -> bool:
        """A bounce overrides "sent": the recipient never got it. Only mail that was sent
        can bounce; anything else claiming to be its bounce changes nothing."""
        row = self.session.get_one(OutboxRow, item_id)
        if row.status != "sent":
            return False
        row.status, row.last_error = "failed", reason
        return True
