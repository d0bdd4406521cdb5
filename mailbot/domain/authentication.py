"""Trust in an officer's From address, from the site's own mail server verdict.

Anyone can write any From. Where the site names the `authserv-id` of its inbound mail
server (`[security] trusted_authserv_id`), a command is only accepted when that server's
Authentication-Results header says DMARC passed (or SPF and DKIM both passed) for the
sender's domain. Headers added by other servers are ignored: a sender can forge those.
"""

from __future__ import annotations

import re

from mailbot.domain.model import Verdict

_RESULT = re.compile(r"\b(dmarc|spf|dkim)\s*=\s*(\w+)([^;]*)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.from|header\.d|header\.i|smtp\.mailfrom)\s*=\s*([^\s;]+)",
                       re.IGNORECASE)


def _aligned(value: str, domain: str) -> bool:
    """The property's domain is the sender's domain or a subdomain of it (relaxed
    alignment), never a look-alike such as `stoke-example.gov.uk.attacker.com`."""
    found = value.rpartition("@")[2].strip("<>\"").lower()
    return bool(domain) and (found == domain or found.endswith("." + domain))


def sender_authenticated(results: tuple[str, ...], authserv_id: str | None,
                         sender: str | None) -> Verdict:
    if not authserv_id:
        return Verdict("unchecked", ("no trusted_authserv_id configured",))
    domain = (sender or "").rpartition("@")[2].lower()
    for header in results:
        server, _, rest = header.partition(";")
        if server.strip().split()[0:1] != [authserv_id]:
            continue
        passed: dict[str, bool] = {}
        for method, verdict, detail in _RESULT.findall(rest):
            if method.lower() == "dmarc" and verdict.lower() != "pass":
                return Verdict(None, (f"{authserv_id}: DMARC {verdict} for {domain}",))
            values = [v for _, v in _PROPERTY.findall(detail)]
            if verdict.lower() == "pass" and any(_aligned(v, domain) for v in values):
                passed[method.lower()] = True
        if passed.get("dmarc") or (passed.get("spf") and passed.get("dkim")):
            return Verdict("pass", (f"{authserv_id}: authenticated for {domain}",))
        return Verdict(None, (f"{authserv_id}: no DMARC (or SPF and DKIM) pass for {domain}",))
    return Verdict(None, (f"no Authentication-Results from {authserv_id}",))
