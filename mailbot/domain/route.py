"""Which service handles a case, and which Ombudsman a complainant is told about.

Routing to the wrong service costs days; triage by the Feedback Team costs minutes. So a
service is chosen only when its keywords score clearly above the rest; otherwise the case
goes to triage with the scores in its reasons.
"""

from __future__ import annotations

from mailbot.domain.model import Kind, Ombudsman, Verdict
from mailbot.domain.rules import Rules, Service
from mailbot.domain.scoring import score


def route_service(text: str, rules: Rules) -> Verdict:
    scored = sorted(
        ((score(s.keywords, text, rules.routing.max_repeats), s)
         for s in rules.services.values()),
        key=lambda pair: pair[0].total,
        reverse=True,
    )
    (best, service), (runner_up, other) = scored[0], scored[1]
    top = f"{service.key}={best.total} ({best.explain()})"
    if best.total < rules.routing.min_score:
        return Verdict(None, (f"no service scored {rules.routing.min_score} or more "
                              f"(best {top}); sent to Feedback Team triage",))
    spanned = [f"{s.key}={sc.total}" for sc, s in scored if sc.total >= rules.routing.min_score]
    if len(spanned) >= rules.routing.many_services:
        return Verdict(None, (f"spans {len(spanned)} services ({', '.join(spanned)}); "
                              "sent to Feedback Team triage to coordinate",))
    if best.total - runner_up.total < rules.routing.min_margin:
        return Verdict(None, (f"unsure between {top} and {other.key}={runner_up.total} "
                              f"({runner_up.explain()}); sent to Feedback Team triage",))
    return Verdict(service.key, (f"service {top}, next {other.key}={runner_up.total}",))


def choose_ombudsman(kind: Kind, service: Service | None, text: str, rules: Rules) -> Verdict:
    """Housing Ombudsman when the council is the landlord, LGSCO otherwise; none for
    feedback that is not a complaint."""
    if not kind.is_complaint:
        return Verdict(None, (f"no Ombudsman for a {kind}",))
    if service is not None:
        if service.landlord:
            return Verdict(Ombudsman.HOUSING, (f"{service.name} is a council-landlord service",))
        return Verdict(Ombudsman.LGSCO, (f"{service.name} is not a landlord service",))
    signals = score(rules.routing.landlord_signals, text)
    if signals.total >= rules.routing.landlord_min_score:
        return Verdict(Ombudsman.HOUSING, (f"landlord signals {signals.explain()}",))
    return Verdict(Ombudsman.LGSCO, ("no council-landlord signals",))
