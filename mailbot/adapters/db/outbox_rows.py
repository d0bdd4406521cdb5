"""The outbox's life after queueing: claimed by one sender, then sent, retried, failed or
bounced. Part of the one transaction object services use (see repository.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import NoResultFound

from mailbot.adapters.db.orm import MESSAGES, OUTBOX, OutboxRow
from mailbot.adapters.db.prepared import Prepared
from mailbot.adapters.db.rows import Rows
from mailbot.services.ports import QueuedItem

_UNCLAIMED: dict[str, Any] = {"claimed_until": None, "claimed_by": None, "sending_at": None}
# Built once, like intake's (see intake_rows.py); marking, once a message, is prepared.
_o, _m = OUTBOX.c, MESSAGES.c
_FREE = or_(_o.claimed_until.is_(None), _o.claimed_until <= bindparam("now"))
_DUE = select(_o.id).where(_o.status == "queued", _o.next_try <= bindparam("now"), _FREE) \
    .order_by(_o.id).limit(bindparam("limit"))
_CLAIM = update(OUTBOX).where(_o.id.in_(bindparam("items", expanding=True)),
                              _o.status == "queued", _FREE) \
    .values(claimed_until=bindparam("until"), claimed_by=bindparam("owner"), sending_at=None)
_BEGIN = Prepared(update(OUTBOX).where(_o.id == bindparam("item"), _o.status == "queued",
                                       _o.claimed_by == bindparam("owner"))
                  .values(sending_at=bindparam("now"), claimed_until=bindparam("until")))
_CLAIMED = select(_o.id, _o.envelope_from, _m.to, _m.raw, _o.attempts) \
    .join(MESSAGES, _o.message_pk == _m.id) \
    .where(_o.id.in_(bindparam("items", expanding=True)), _o.claimed_by == bindparam("owner"),
           _o.claimed_until == bindparam("until")).order_by(_o.id)
_FINISH = update(OUTBOX).where(_o.id == bindparam("item")) \
    .values(attempts=_o.attempts + 1, **_UNCLAIMED)
_SENT = Prepared(_FINISH.values(status="sent", sent_at=bindparam("at"), last_error=None))
_RETRY = Prepared(_FINISH.values(last_error=bindparam("error"), next_try=bindparam("retry_at")))
_FAILED = Prepared(_FINISH.values(status="failed", last_error=bindparam("error")))


class OutboxRows(Rows):
    def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta,
                  owner: str) -> list[QueuedItem]:
        """Claim up to `limit` due items for sender `owner` until `now + lease`.

        The claim is one conditional UPDATE of the candidates, so of two senders racing
        for an item exactly one wins it, on SQLite and PostgreSQL alike (there the loser
        finds the row no longer free when its lock is granted); what this sender won is
        read back by its name and lease. A claim left by a crashed sender expires (or is
        released by the next holder of the outbox) and the item is sent again, with the
        same bytes and Message-ID.
        """
        candidates = self.execute(_DUE, {"now": now, "limit": limit}).scalars().all()
        if not candidates:
            return []
        claim = {"items": candidates, "now": now, "until": now + lease, "owner": owner}
        self.execute(_CLAIM, claim)
        rows = self.execute(_CLAIMED, claim).all()
        return [QueuedItem(r.id, r.envelope_from, tuple(r.to), r.raw, r.attempts) for r in rows]

    def begin_send(self, item_id: int, owner: str, now: dt.datetime,
                   lease: dt.timedelta) -> bool:
        """Still ours? Then it is in flight from `now`. False if another sender took the
        claim over meanwhile (ours was released as stale): then we must not send it."""
        return self._changed(_BEGIN, {"item": item_id, "owner": owner, "now": now,
                                      "until": now + lease})

    def release(self, item_ids: list[int], owner: str) -> None:
        """Give back this sender's claims it will not use (it is stopping), so the items go
        at once after a restart instead of when the lease runs out."""
        if item_ids:
            self.execute(update(OUTBOX).where(
                _o.id.in_(item_ids), _o.status == "queued", _o.claimed_by == owner)
                .values(_UNCLAIMED))

    def release_stale(self, owner: str, now: dt.datetime, in_flight: dt.timedelta) -> int:
        """Other senders' claims, for the new holder of the outbox: any it did not make
        were left by a sender that died or lost the outbox, and go now, except an item
        that sender may still be sending, which waits until its transaction must be over."""
        stale = update(OUTBOX).where(
            _o.status == "queued", _o.claimed_until.is_not(None),
            or_(_o.claimed_by.is_(None), _o.claimed_by != owner),
            or_(_o.sending_at.is_(None), _o.sending_at <= now - in_flight))
        return self.execute(stale.values(_UNCLAIMED)).rowcount

    def _changed(self, statement: Prepared, params: dict[str, Any]) -> bool:
        """Whether the UPDATE changed its one row."""
        return statement.count(self.ready(), params) == 1

    def _finish(self, statement: Prepared, item_id: int, **params: Any) -> None:
        if not self._changed(statement, {"item": item_id, **params}):
            raise NoResultFound(f"no outbox item {item_id}")

    def mark_sent(self, item_id: int, at: dt.datetime) -> None:
        self._finish(_SENT, item_id, at=at)

    def mark_retry(self, item_id: int, error: str, next_try: dt.datetime) -> None:
        self._finish(_RETRY, item_id, error=error, retry_at=next_try)

    def mark_failed(self, item_id: int, error: str) -> None:
        self._finish(_FAILED, item_id, error=error)

    def mark_bounced(self, item_id: int, reason: str) -> bool:
        """A bounce overrides "sent": the recipient never got it. Only mail that was sent
        can bounce; anything else claiming to be its bounce changes nothing."""
        row = self.session.get_one(OutboxRow, item_id)
        if row.status != "sent":
            return False
        row.status, row.last_error = "failed", reason
        return True
