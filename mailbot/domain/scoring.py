"""Weighted phrase matching, shared by kind classification, routing and Ombudsman choice."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mailbot.domain.phrases import Phrases, Searched


@dataclass(frozen=True)
class Score:
    total: int
    matched: tuple[str, ...]

    def explain(self) -> str:
        return ", ".join(f"'{m}'" for m in self.matched) or "nothing"


@lru_cache(maxsize=8)
def prepared(text: str) -> Searched:
    """One message's text is scored by every kind, service and signal list in turn
    (some twenty calls): it is made ready for searching once."""
    return Searched.of(text)


def score(phrases: Phrases, text: str, repeats: int = 1) -> Score:
    """Sum of weights of the phrases found, each counted up to `repeats` times.

    For the kind, one mention is as telling as five (`repeats=1`); for the service, what a
    message keeps coming back to is what it is about (routing counts up to a few repeats).
    """
    total, matched = 0, []
    searched = prepared(text)
    for phrase in phrases.candidates(searched):
        found = phrase.count(searched, repeats)
        if found:
            total += phrase.weight * found
            matched.append(phrase.text if found == 1 else f"{phrase.text} x{found}")
    return Score(total, tuple(matched))
