"""May this message be acknowledged: RFC 3834 manners first, then the daily limit per
sender, which stops a forged or looping sender turning mailbot into a mail cannon."""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.domain.autoreply import ReplyPermission
from mailbot.domain.model import Verdict
from mailbot.domain.rules import Rules


@dataclass(frozen=True)
class SenderHistory:
    """What the shell counted about the sender."""

    acknowledgements_today: int = 0


def acknowledgement_allowed(permission: ReplyPermission, history: SenderHistory,
                            rules: Rules) -> Verdict:
    if not permission.allowed:
        return Verdict(None, permission.reasons)
    limit = rules.council.acknowledgements_per_day
    if history.acknowledgements_today >= limit:
        return Verdict(None, (f"no reply: {history.acknowledgements_today} acknowledgements "
                              f"already sent to this address today (limit {limit})",))
    return Verdict("yes", permission.reasons)
