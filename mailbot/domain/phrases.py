"""Phrases a message is searched for, weighted: the words of kinds, services and signals.

Kept apart from the rest of the rules because searching is the hot loop of deciding: a
message is searched for some five hundred phrases, so each list is indexed by the first
word of its phrases, and a message's text is made ready once for all of them. Deciding a
bench message took 3.2M instructions before the index and the word sets, 2.2M after
(callgrind).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain

# Characters that re.IGNORECASE matches to an ASCII letter but str.lower() does not turn
# into one (or turns into two characters): long s, dotless i, dotted capital I.
_FOLDS_APART = ("\u017f", "\u0131", "\u0130")


def aligned(text: str, lowered: str) -> bool:
    """Whether `lowered` (text.lower()) finds every place where an ASCII word could match
    `text` case-insensitively, at the same index: no character became two, and none of
    the few that the regex folds differently is present."""
    return len(lowered) == len(text) and not any(c in text for c in _FOLDS_APART)


_WORD = re.compile(r"\w+")
# A phrase that does not start with a whole word (complain*, didn't turn up) is filed by
# the first letters of its first word, which any match's first word starts with.
STEM = 3
_STEM = re.compile(rf"[A-Za-z0-9_]{{{STEM}}}")


@dataclass(frozen=True)
class Searched:
    """A text made ready, once, for every phrase looked for in it.

    A substring test of the whole text for each phrase was most of the time classifying
    and routing took (profiling), where a phrase can mostly be ruled out by looking its
    words up among the text's.
    """

    text: str
    lowered: str
    aligned: bool
    # Every run of word characters in `text` and in `lowered`, and their first letters.
    words: frozenset[str] = field(repr=False)
    stems: frozenset[str] = field(repr=False)

    @classmethod
    def of(cls, text: str) -> Searched:
        lowered = text.lower()
        words = frozenset(_WORD.findall(text)) | frozenset(_WORD.findall(lowered))
        return cls(text, lowered, aligned(text, lowered), words,
                   frozenset(w[:STEM] for w in words))


@dataclass(frozen=True)
class Phrase:
    """A keyword or phrase with its weight; `*` at the end of a word matches any ending.

    A phrase written in capitals (SEND, ASB, PCN) is an acronym and matches only in
    capitals, so "please send someone" is not about special educational needs.
    """

    text: str
    weight: int
    pattern: re.Pattern[str] = field(repr=False, compare=False)
    needle: str = field(repr=False, compare=False, default="")
    case_sensitive: bool = field(repr=False, compare=False, default=False)
    # What every match starts with (as found in the text searched: lower-cased unless
    # case-sensitive); "" when it cannot be used to find the candidates.
    prefix: str = field(repr=False, compare=False, default="")
    # The first word is a whole ASCII word (no `*`): every match is that run of word
    # characters, so a text without it among its words cannot match.
    whole_word: bool = field(repr=False, compare=False, default=False)
    # The phrase's words that are whole ASCII words (as `needle`): each is a run of word
    # characters in any match, so a text lacking one of them cannot match.
    words: frozenset[str] = field(repr=False, compare=False, default=frozenset())

    @classmethod
    def of(cls, text: str, weight: int) -> Phrase:
        words = [re.escape(w).replace(r"\*", r"\w*") for w in text.split()]
        case_sensitive = text.isupper()
        flags = 0 if case_sensitive else re.IGNORECASE
        pattern = re.compile(r"(?<!\w)" + r"[\s\W]+".join(words) + r"(?!\w)", flags)
        first = text.split()[0].rstrip("*")
        prefix = text.split()[0].partition("*")[0]
        if not case_sensitive:
            prefix = prefix.lower() if prefix.isascii() else ""
        whole = [w if case_sensitive else w.lower() for w in text.split()
                 if w.isascii() and _WORD.fullmatch(w)]
        return cls(text=text, weight=weight, pattern=pattern,
                   needle=first if case_sensitive else first.lower(),
                   case_sensitive=case_sensitive, prefix=prefix,
                   whole_word=first.isascii() and _WORD.fullmatch(text.split()[0]) is not None,
                   words=frozenset(whole))

    def count(self, searched: Searched, limit: int) -> int:
        """Matches in the text, up to `limit`; a lookup of its words or a substring test
        skips the regex when it can.

        The regex is tried only where the phrase's first letters occur (found with
        str.find, far faster than the regex scanning every position), which finds exactly
        what scanning would: every match starts there. Case-insensitively that needs the
        text `aligned` (see `aligned`); otherwise the whole text is scanned.
        """
        text, is_aligned = searched.text, searched.aligned
        haystack = text if self.case_sensitive else searched.lowered
        # Whether the haystack's words and indexes are the text's as the regex sees them.
        words_tell = self.case_sensitive or is_aligned
        if words_tell and not self.words <= searched.words:
            return 0
        if not (words_tell and self.whole_word) and self.needle not in haystack:
            return 0
        if not self.prefix or not words_tell:
            return sum(1 for _ in zip(range(limit), self.pattern.finditer(text), strict=False))
        found, at = 0, haystack.find(self.prefix)
        while at >= 0 and found < limit:
            match = self.pattern.match(text, at)
            if match:
                found += 1
                at = haystack.find(self.prefix, match.end())
            else:
                at = haystack.find(self.prefix, at + 1)
        return found


@dataclass(frozen=True)
class Phrases:
    """One list of phrases (a kind's, a service's keywords, the landlord signals), with
    its phrases filed by first word.

    Most phrases start with a whole word, which a text either has or not, and the rest
    mostly with three letters that one of its words must start with: a list's
    candidates for a text are found by set intersections with the text's words and
    stems, so the five hundred phrases of the rules cost a few dozen tests a message,
    not one Python call each.
    """

    items: tuple[Phrase, ...] = ()
    # Positions in `items`: of whole-word phrases by first word, of the others by stem
    # (see STEM) where they have one; `others` holds the rest, candidates for any text.
    by_word: Mapping[str, tuple[int, ...]] = field(default_factory=dict, repr=False,
                                                   compare=False, hash=False)
    by_stem: Mapping[str, tuple[int, ...]] = field(default_factory=dict, repr=False,
                                                   compare=False, hash=False)
    others: tuple[int, ...] = field(default=(), repr=False, compare=False, hash=False)

    @classmethod
    def of(cls, phrases: Iterable[Phrase]) -> Phrases:
        items = tuple(phrases)
        by_word: dict[str, list[int]] = {}
        by_stem: dict[str, list[int]] = {}
        others = []
        for at, phrase in enumerate(items):
            if phrase.whole_word:
                by_word.setdefault(phrase.needle, []).append(at)
            elif _STEM.match(phrase.needle):
                by_stem.setdefault(phrase.needle[:STEM], []).append(at)
            else:
                others.append(at)
        return cls(items, {w: tuple(ats) for w, ats in by_word.items()},
                   {s: tuple(ats) for s, ats in by_stem.items()}, tuple(others))

    def __iter__(self) -> Iterator[Phrase]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def candidates(self, searched: Searched) -> Iterable[Phrase]:
        """The phrases that may occur in the text, in the list's order (the order their
        matches are explained in); all of them when its words cannot rule any out."""
        if not searched.aligned:
            return self.items
        words = searched.words.intersection(self.by_word)
        stems = searched.stems.intersection(self.by_stem)
        if not words and not stems and not self.others:
            return ()
        return [self.items[at] for at in sorted(chain(
            self.others, *(self.by_word[w] for w in words), *(self.by_stem[s] for s in stems)))]


NO_PHRASES = Phrases()
