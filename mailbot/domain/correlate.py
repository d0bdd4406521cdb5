"""Which case does a message belong to, and why: safely.

Proof of belonging, strongest first: a reply token (the per-case secret in our Reply-To
sub-address or our Message-IDs), then a Message-ID of ours in In-Reply-To/References.
A reference number typed in the subject or body is public information, so it joins the
case only when the sender is already one of the case's participants; a stranger quoting
it opens a new case for the Feedback Team, which records the claim and reveals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailbot.domain.model import CaseSnapshot, Inbound, OurMessage
from mailbot.domain.reference import TOKEN_ALPHABET, TOKEN_LENGTH, find_references

BOUNCE_TAG = "b-"


@dataclass(frozen=True)
class ThreadKeys:
    """What to look up for a message; the shell turns these into ThreadMatches."""

    tokens: tuple[str, ...] = ()
    bounce_tokens: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThreadMatches:
    by_token: dict[str, CaseSnapshot] = field(default_factory=dict)
    by_bounce_token: dict[str, OurMessage] = field(default_factory=dict)
    by_message_id: dict[str, OurMessage] = field(default_factory=dict)
    by_reference: dict[str, CaseSnapshot] = field(default_factory=dict)


@dataclass(frozen=True)
class Correlation:
    case: CaseSnapshot | None
    answering: OurMessage | None
    claimed_reference: str | None
    reasons: tuple[str, ...]


def _is_token(text: str) -> bool:
    return len(text) == TOKEN_LENGTH and all(c in TOKEN_ALPHABET for c in text)


def thread_keys(inbound: Inbound, own_domains: frozenset[str], reply_locals: frozenset[str],
                reference_prefix: str) -> ThreadKeys:
    """Tokens from `local+tag@` recipients of ours and from our Message-IDs; our ids quoted
    in In-Reply-To, References or a bounce's copy of the original; typed references."""
    tokens: list[str] = []
    bounce_tokens: list[str] = []
    for address in (*inbound.to, *inbound.cc, *inbound.delivered_to):
        local, _, domain = address.email.lower().rpartition("@")
        base, plus, tag = local.partition("+")
        if not plus or base not in reply_locals or domain not in own_domains:
            continue
        if tag.startswith(BOUNCE_TAG):
            bounce_tokens.append(tag[len(BOUNCE_TAG):])
        elif _is_token(tag):
            tokens.append(tag)
    ids = [i for i in (inbound.in_reply_to, *inbound.references, *inbound.embedded_message_ids)
           if i]
    ours = [i for i in dict.fromkeys(ids)
            if i[1:-1].rpartition("@")[2].lower() in own_domains]
    for message_id in ours:
        tag = message_id[1:].partition("@")[0].rpartition(".")[2]
        if _is_token(tag):
            tokens.append(tag)
    return ThreadKeys(tuple(dict.fromkeys(tokens)), tuple(dict.fromkeys(bounce_tokens)),
                      tuple(ours), find_references(inbound.opening, reference_prefix))


def correlate(inbound: Inbound, keys: ThreadKeys, found: ThreadMatches) -> Correlation:
    sender = inbound.from_.email if inbound.from_ else None
    answering = next((found.by_bounce_token[t] for t in keys.bounce_tokens
                      if t in found.by_bounce_token), None) or next(
        (found.by_message_id[i] for i in keys.message_ids if i in found.by_message_id), None)
    for token in keys.tokens:
        if token in found.by_token:
            case = found.by_token[token]
            return Correlation(case, answering, None,
                               (f"carries the reply token of {case.reference}",))
    if answering is not None and answering.case is not None:
        return Correlation(answering.case, answering, None,
                           (f"answers our {answering.template} (outbox {answering.outbox_id}) "
                            f"on {answering.case.reference}",))
    for reference in keys.references:
        quoted = found.by_reference.get(reference)
        if quoted is None:
            continue
        if quoted.is_participant(sender):
            return Correlation(quoted, answering, None,
                               (f"{sender} quotes {reference}, a case they take part in",))
        return Correlation(None, answering, reference,
                           (f"{sender or 'an unknown sender'} quotes {reference} but is not "
                            "one of its participants: opened as a new case for the Feedback "
                            "Team to check; nothing about the claimed case is revealed",))
    return Correlation(None, answering, None, ("no reply token, no message of ours, "
                                               "no reference: a new matter",))
