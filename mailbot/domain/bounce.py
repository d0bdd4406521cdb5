"""Is this message a delivery report about mail we sent, and what does it say?

Standard DSNs (RFC 3464) say so in a message/delivery-status part; many MTAs still send
plain-text bounces, recognisable by their robot sender or subject. A delay warning or a
success report is recorded but never marks anything failed.
"""

from __future__ import annotations

import re

from mailbot.domain.model import Inbound, Verdict

FAILED, DELAYED, REPORT = "failed", "delayed", "report"
_BOUNCE_SUBJECT = re.compile(
    r"(undeliverable|undelivered mail|delivery status notification|mail delivery (failed|failure"
    r"|system)|returned mail|failure notice|delivery failure|non[- ]?delivery|"
    r"could not be delivered|message not delivered|delivery has failed)", re.IGNORECASE)
_DELAY_SUBJECT = re.compile(r"(delayed mail|delivery delayed|still being retried|"
                            r"warning: message .* delayed)", re.IGNORECASE)
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
    robot = bool(_ROBOT_SENDER.match(sender)) or inbound.return_path in ("<>", "")
    if _DELAY_SUBJECT.search(inbound.subject):
        return Verdict(DELAYED, (f"delivery delayed: {inbound.subject[:200]}",))
    if _BOUNCE_SUBJECT.search(inbound.subject) or (robot and inbound.embedded_message_ids):
        return Verdict(FAILED, (f"delivery failed: {inbound.subject[:200]}",))
    return Verdict(None, ())
