"""RFC 3834 manners: may mailbot answer this message automatically at all?

Answering a bounce, an out-of-office or a mailing list starts mail loops and spams
strangers, so this check runs before any acknowledgement is composed, and its reasons are
recorded on the case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.domain.model import Inbound

_ROBOT_LOCALPARTS = frozenset({
    "mailer-daemon", "mailer_daemon", "postmaster", "post_master", "noreply", "no-reply",
    "no_reply", "do-not-reply", "do_not_reply", "donotreply", "bounce", "bounces", "owner",
    "mailman", "majordomo", "listserv", "daemon", "notification", "notifications", "alerts",
    "newsletter", "ship-confirm", "auto-confirm", "autoreply", "auto-reply"})
# Mailing-list robots: ppp-request@, ppp-admin@, owner-ppp@, ppp-bounces@ ...
_ROBOT_AFFIXES = re.compile(r"(-(request|admin|bounces?|owner|errors)$|^(owner|bounces?)-)")
_LIST_DOMAINS = re.compile(r"(^|\.)(yahoogroups\.com|googlegroups\.com|groups\.io)$|^lists?\.")
_LISTSERV_TAG = re.compile(r"^\s*(re:\s*)?\[[\w.-]+-l\]", re.IGNORECASE)
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "mailing-list", "x-mailing-list")
# Challenge/response systems ask the sender to prove they are human; answering them
# would confirm our address to a robot and could loop.
_CHALLENGE = re.compile(
    r"(added to (the )?(recipient'?s )?(allowed|approved|safe)[-\s]+(senders?\s+)?list|whitelist|"
    r"verify (that )?you are (a )?(human|real person)|challenge[- /]response|"
    r"your email requires verification)",
    re.IGNORECASE)
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
    for header in (*_LIST_HEADERS, "x-auto-response-suppress", "x-autoreply",
                   "x-autorespond"):
        if h.get(header, "").strip():
            reasons.append(f"{header} header present")
    if inbound.return_path is not None and inbound.return_path.strip("<> ") == "":
        reasons.append("null return path (<>)")
    for label, address in (("return path", inbound.return_path),
                           ("sender", inbound.from_.email if inbound.from_ else None),
                           ("Sender", h.get("sender"))):
        local = _localpart(address)
        if local in _ROBOT_LOCALPARTS or _ROBOT_AFFIXES.search(local):
            reasons.append(f"{label} {address} is a robot address")
    if inbound.content_type.lower() == "multipart/report":
        reasons.append("delivery or read report (multipart/report)")
    sender_domain = (inbound.from_.email if inbound.from_ else "").rpartition("@")[2].lower()
    if _LIST_DOMAINS.search(sender_domain) or _LISTSERV_TAG.search(inbound.subject):
        reasons.append("mailing-list message (list host or list tag)")
    if _OUT_OF_OFFICE.search(inbound.subject):
        reasons.append(f"subject looks automatic: {inbound.subject[:60]!r}")
    if _CHALLENGE.search(inbound.text[:2000]):
        reasons.append("a challenge/response robot asking to verify the sender")
    if reasons:
        return ReplyPermission(False, tuple(f"no reply: {r}" for r in reasons))
    return ReplyPermission(True, ("reply allowed: no automation or bulk signs",))
