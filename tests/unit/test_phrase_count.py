"""Counting a phrase by looking its first word up among the text's words, and by trying
the regex only where its first letters occur, finds exactly what scanning the whole text
with the regex finds, whatever the text's letters."""

from pathlib import Path

import pytest

from mailbot.adapters.parse import parse_message
from mailbot.domain.phrases import Phrase, Phrases, Searched
from mailbot.domain.rules import Rules
from tests.conftest import FIXTURES

CRAFTED = (
    "Nobody came AGAIN, again and again; not-acceptable!!! NOT acceptable",
    "ſtill no ſervice: the ſkip was never collected",  # long s folds to s in the regex
    "İnspection DIDN'T happen, ı waited for the Kelvin-sign Keys",  # dotted I: 2 chars lowered
    "The council’s “missed bin” — again… £40 fine for fly-tipping",
    "SEND and ASB and PCN; send someone; asb; Pcn",
    "repairrepair repair repairs REPAIRED re pair",
    "_council_ council_tax council2 2council co-uncil COUNCIL'S Council",  # word edges
    "",
)


def scanned(phrase: Phrase, text: str, limit: int) -> int:
    """The reference: the substring pre-check, then the regex over the whole text."""
    if phrase.needle not in (text if phrase.case_sensitive else text.lower()):
        return 0
    return sum(1 for _ in zip(range(limit), phrase.pattern.finditer(text), strict=False))


def texts() -> list[str]:
    mail = sorted((FIXTURES / "classify").glob("*.eml"))[:20] + \
        sorted((FIXTURES / "corpus").rglob("*.eml"))[:40]
    return [*CRAFTED, *(parse_message(Path(p).read_bytes()).opening for p in mail)]


@pytest.mark.parametrize("limit", [1, 3])
def test_count_matches_a_full_scan(rules: Rules, limit: int) -> None:
    phrases = [*(p for kind in rules.kinds.phrases.values() for p in kind),
               *(p for service in rules.services.values() for p in service.keywords),
               *rules.routing.landlord_signals, *rules.escalation,
               *(Phrase.of(t, 1) for t in ("not accept*", "SEND", "re*pair", "*pair", "ſkip",
                                           "again", "kelvin", "AGAIN", "didn't",
                                           "not", "ſervice", "İnspection", "council"))]
    for text in texts():
        searched = Searched.of(text)
        for phrase in phrases:
            assert phrase.count(searched, limit) == \
                scanned(phrase, text, limit), (phrase.text, text[:60])


def test_a_lists_candidates_are_every_phrase_that_occurs_in_order(rules: Rules) -> None:
    lists = [*rules.kinds.phrases.values(), *(s.keywords for s in rules.services.values()),
             rules.routing.landlord_signals, rules.escalation,
             Phrases.of(Phrase.of(t, 1) for t in ("again", "SEND", "ſkip", "not accept*",
                                                   "didn't", "council", "kelvin"))]
    for text in texts():
        searched = Searched.of(text)
        for phrases in lists:
            occurring = [p for p in phrases if p.count(searched, 1)]
            candidates = list(phrases.candidates(searched))
            assert [p for p in candidates if p.count(searched, 1)] == occurring, text[:60]
            assert candidates == [p for p in phrases if p in candidates]  # the list's order
