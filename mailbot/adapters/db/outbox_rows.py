"""The outbox's life after queueing: claimed by one sender, then sent, retried, failed or
bounced. Part of the one transaction object services use (see repository.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, Update, bindparam, or_, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from mailbot.adapters.db.orm import MESSAGES, OUTBOX, OutboxRow
from mailbot.services.ports import QueuedItem

# Built once, like intake's (see intake_rows.py): claiming and marking are per message.
_o, _m = OUTBOX.c, MESSAGES.c
_FREE = or_(_o.claimed_until.is_(None), _o.claimed_until <= bindparam("now"))
_DUE = select(_o.id).where(_o.status == "queued", _o.next_try <= bindparam("now"), _FREE) \
    .order_by(_o.id).limit(bindparam("limit"))
_CLAIM = update(OUTBOX).where(_o.id == bindparam("item"), _o.status == "queued", _FREE) \
    .values(claimed_until=bindparam("until"))
_CLAIMED = select(_o.id, _o.envelope_from, _m.to, _m.raw, _o.attempts) \
    .join(MESSAGES, _o.message_pk == _m.id) \
    .where(_o.id.in_(bindparam("items", expanding=True))).order_by(_o.id)
_FINISH = update(OUTBOX).where(_o.id == bindparam("item")) \
    .values(attempts=_o.attempts + 1, claimed_until=None)
_SENT = _FINISH.values(status="sent", sent_at=bindparam("at"), last_error=None)
_RETRY = _FINISH.values(last_error=bindparam("error"), next_try=bindparam("retry_at"))
_FAILED = _FINISH.values(status="failed", last_error=bindparam("error"))


class OutboxRows:
    session: Session

    def claim_due(self, now: dt.datetime, limit: int,
                  lease: dt.timedelta) -> list[QueuedItem]:
        """Claim up to `limit` due items for this sender until `now + lease`.

        Each claim is a conditional UPDATE, so of two senders racing for an item exactly
        one wins it, on SQLite and PostgreSQL alike; a claim left by a crashed sender
        expires and the item is sent again, with the same bytes and Message-ID.
        """
        candidates = self.session.scalars(_DUE, {"now": now, "limit": limit}).all()
        claimed = [item for item in candidates if self._changed(
            _CLAIM, {"item": item, "now": now, "until": now + lease})]
        rows = self.session.execute(_CLAIMED, {"items": claimed}).all()
        return [QueuedItem(r.id, r.envelope_from, tuple(r.to), r.raw, r.attempts) for r in rows]

    def _changed(self, statement: Update, params: dict[str, Any]) -> bool:
        """Whether the UPDATE changed its one row."""
        return cast(CursorResult[Any], self.session.execute(statement, params)).rowcount == 1

    def _finish(self, statement: Update, item_id: int, **params: Any) -> None:
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
