"""Routed copies carry attachments up to the forwarding limit; the rest stay with the case."""

import hashlib

from mailbot.domain.attachments import split_for_forwarding
from mailbot.domain.model import Attachment


def attachment(name: str, size: int) -> Attachment:
    data = bytes(size)
    return Attachment(name, "application/pdf", size, hashlib.sha256(name.encode()).hexdigest(),
                      data)


def test_fits_in_order_and_skips_what_does_not() -> None:
    small, big, other = attachment("a", 4), attachment("b", 10), attachment("c", 5)
    forwarded, withheld = split_for_forwarding((small, big, other), limit=10)
    assert forwarded == (small, other) and withheld == (big,)


def test_nothing_to_forward() -> None:
    assert split_for_forwarding((), 10) == ((), ())
