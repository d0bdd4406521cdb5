"""Named locks on SQLite (flock beside the file) and PostgreSQL (advisory locks): one holder
at a time, across engines as across processes, and free again on release."""

from __future__ import annotations

from mailbot.adapters.db.locks import Locks, lock_key
from mailbot.adapters.db.repository import SqlStore


def test_one_holder_at_a_time(database_url: str) -> None:
    first, second = SqlStore(database_url), SqlStore(database_url)
    mine, theirs = Locks(first.engine), Locks(second.engine)
    try:
        lease = mine.try_acquire("mailbox:feedback")
        assert lease is not None and lease.held()
        assert theirs.try_acquire("mailbox:feedback") is None
        other = theirs.try_acquire("mailbox:spoc")  # another name is another lock
        assert other is not None
        lease.release()
        again = theirs.try_acquire("mailbox:feedback")
        assert again is not None
        again.release()
        other.release()
    finally:
        mine.close()
        theirs.close()
        first.close()
        second.close()


def test_keys_are_stable_signed_64_bit() -> None:
    # Pinned: an old and a new release running side by side must agree on the key.
    assert lock_key("outbox") == 4915665759451622383 != lock_key("jobs")
    assert -2**63 <= lock_key("mailbox:feedback") < 2**63
