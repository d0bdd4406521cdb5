"""RFC 3834 manners: may mailbot answer this message automatically at all?

Answering a bounce, an out-of-office or a mailing list starts mail loops and spams
strangers, so this check runs before any acknowledgement is composed, and its reasons are
recorded on the case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.domain.model import Inbound

_ROBOT_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "noreply", "no-reply",
                               "do-not-reply", "donotreply", "bounce", "bounces"})
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
# Out-of-office replies without the proper headers give themselves away by how their subject
# *starts*; a resident's "Vacation of my flat" or "On annual leave, nobody answered" must not.
_OUT_OF_OFFICE = re.compile(
    r"^\s*(out of (the )?office|auto(matic)?[- ]?(reply|response|antwort)\b|autoreply|auto:|"
    r"away from (the )?office|abwesenheit|r[ée]ponse automatique|respuesta autom[aá]tica|"
    r"risposta automatica|automatyczna odpowied[zź]|odpowied[zź] automatyczna|"
    r"automatisch antwoord|vacation (reply|notice|message)|自动回复)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReplyPermission:
    allowed: bool
    reasons: tuple[str, ...]


def _localpart(address: str | None) -> str:
    return (address or "").strip("<> ").rpartition("@")[0].lower()


def may_auto_reply(inbound: Inbound) -> ReplyPermission:
    """Allowed only when no sign of automation, bulk mail or a missing sender is found."""
    h = inbound.auto_headers
    reasons: list[str] = []
    contact = inbound.contact
    if contact is None:
        reasons.append("no sender address to answer")
    elif not contact.email.rpartition("@")[0].isascii():
        reasons.append(f"address {contact.email} needs SMTPUTF8, which plain SMTP cannot send")
    auto_submitted = h.get("auto-submitted", "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    precedence = h.get("precedence", "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        reasons.append(f"Precedence: {precedence}")
    for header in ("list-id", "list-unsubscribe", "x-auto-response-suppress",
                   "x-autoreply", "x-autorespond"):
        if h.get(header, "").strip():
            reasons.append(f"{header} header present")
    if inbound.return_path is not None and inbound.return_path.strip("<> ") == "":
        reasons.append("null return path (<>)")
    for label, address in (("return path", inbound.return_path),
                           ("sender", inbound.from_.email if inbound.from_ else None)):
        if _localpart(address) in _ROBOT_LOCALPARTS:
            reasons.append(f"{label} {address} is a robot address")
    if inbound.content_type.lower() == "multipart/report":
        reasons.append("delivery or read report (multipart/report)")
    if _OUT_OF_OFFICE.search(inbound.subject):
        reasons.append(f"subject looks automatic: {inbound.subject[:60]!r}")
    if reasons:
        return ReplyPermission(False, tuple(f"no reply: {r}" for r in reasons))
    return ReplyPermission(True, ("reply allowed: no automation or bulk signs",))
