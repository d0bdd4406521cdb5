"""What kind of feedback a message is, with the reasons a person can check.

Residents rarely write the word "complaint": dissatisfaction, repetition ("again", "nobody
came") and delay are the signals. A first request for a normal service is a service
request, praise is a compliment, a suggestion is a comment. When nothing speaks clearly
the default kind (a complaint, the kind with the strictest timescales) is used and the
reasons say so, so the Feedback Team can reclassify.
"""

from __future__ import annotations

from mailbot.domain.model import Kind, Verdict
from mailbot.domain.phrases import NO_PHRASES
from mailbot.domain.rules import KindRules
from mailbot.domain.scoring import score

# When two kinds score the same, the one that protects the resident most wins.
_TIE_ORDER = (Kind.COMPLAINT, Kind.SERVICE_REQUEST, Kind.COMMENT, Kind.COMPLIMENT)


def is_mp_sender(email: str, mp_domains: tuple[str, ...]) -> bool:
    domain = email.rpartition("@")[2].lower()
    return any(domain == d or domain.endswith("." + d) for d in mp_domains)


def classify_kind(text: str, sender_email: str | None, rules: KindRules) -> Verdict:
    """The kind of a new message from its sender and words (subject included in `text`)."""
    if sender_email and is_mp_sender(sender_email, rules.mp_domains):
        return Verdict(Kind.MP_ENQUIRY, (f"sender {sender_email} is an MP's address",))
    scores = {kind: score(rules.phrases.get(kind, NO_PHRASES), text) for kind in _TIE_ORDER}
    summary = "; ".join(
        f"{kind}={s.total} ({s.explain()})" for kind, s in scores.items() if s.total
    )
    best = max(_TIE_ORDER, key=lambda k: (scores[k].total, -_TIE_ORDER.index(k)))
    if scores[best].total < rules.min_score:
        return Verdict(
            rules.default_kind,
            (
                f"no kind scored {rules.min_score} or more ({summary or 'no signals'}); "
                f"default {rules.default_kind}",
            ),
        )
    return Verdict(best, (f"kind {best}: {summary}",))


def apply_statutory(kind: Kind, statutory: Kind | None, service_name: str) -> Verdict:
    """Complaints about a statutory service follow that service's own procedure."""
    if kind is Kind.COMPLAINT and statutory is not None:
        return Verdict(
            statutory, (f"complaint about {service_name} follows the {statutory} procedure",)
        )
    return Verdict(kind, ())
