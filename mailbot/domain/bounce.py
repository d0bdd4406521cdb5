"""Is this message a delivery report about mail we sent, and what does it say?

Standard DSNs (RFC 3464) say so in a message/delivery-status part; many MTAs still send
plain-text bounces, recognisable by their robot sender or subject. A delay warning or a
success report is recorded but never marks anything failed.
"""

from __future__ import annotations

import re

from mailbot.domain.model import Inbound, Verdict

FAILED, DELAYED, REPORT = "failed", "delayed", "report"
# Bounce subjects *start* with their verdict; a resident's "Re: Non-delivery of my council
# tax bill" or "Undelivered parcel at the depot?" must stay a resident's message.
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliverable\s*:|undelivered mail returned|delivery status notification|"
    r"mail delivery (failed|failure|system)|returned mail\s*:|failure notice|"
    r"delivery failure|non[- ]?delivery (report|notification)|message not delivered|"
    r"delivery has failed|mail system error)", re.IGNORECASE)
_DELAY_SUBJECT = re.compile(r"^\s*(delayed mail|delivery delayed|warning: (message|delayed)|"
                            r"delivery status notification \(delay\))", re.IGNORECASE)
_ROBOT_SENDER = re.compile(r"^(mailer[-_]?daemon|postmaster|post_master|mail[-_]?daemon)$",
                           re.IGNORECASE)


def bounce_verdict(inbound: Inbound) -> Verdict:
    """FAILED, DELAYED or REPORT with the reason to record, or None for ordinary mail."""
    report = inbound.delivery_report
    if report is not None:
        detail = " ".join(p for p in (report.status, report.diagnostic) if p) or inbound.subject
        if report.is_failure:
            return Verdict(FAILED, (f"delivery failed: {detail}"[:500],))
        if report.action == "delayed":
            return Verdict(DELAYED, (f"delivery delayed: {detail}"[:500],))
        return Verdict(REPORT, (f"delivery report ({report.action or 'no action'}): "
                                f"{detail}"[:500],))
    sender = (inbound.from_.email if inbound.from_ else "").partition("@")[0]
    robot = (bool(_ROBOT_SENDER.match(sender)) or inbound.return_path in ("<>", "")
             or inbound.content_type == "multipart/report")
    if _DELAY_SUBJECT.search(inbound.subject):
        return Verdict(DELAYED, (f"delivery delayed: {inbound.subject[:200]}",))
    if _BOUNCE_SUBJECT.search(inbound.subject) or (robot and inbound.embedded_message_ids):
        return Verdict(FAILED, (f"delivery failed: {inbound.subject[:200]}",))
    return Verdict(None, ())
