"""Which attachments travel with a routed copy: relays refuse big messages, and a refused
routed copy helps nobody. What is held back stays with the case (the raw message is
kept whole) and the copy says so."""

from __future__ import annotations

from mailbot.domain.model import Attachment


def split_for_forwarding(attachments: tuple[Attachment, ...], limit: int
                         ) -> tuple[tuple[Attachment, ...], tuple[Attachment, ...]]:
    """(forwarded, withheld): in order, each one that still fits under `limit` bytes."""
    forwarded: list[Attachment] = []
    withheld: list[Attachment] = []
    total = 0
    for attachment in attachments:
        if total + attachment.size <= limit:
            forwarded.append(attachment)
            total += attachment.size
        else:
            withheld.append(attachment)
    return tuple(forwarded), tuple(withheld)
