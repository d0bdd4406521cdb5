"""The council's rules as typed values: services, procedures, classification, Ombudsmen.

They are data in `rules/*.toml` (loaded and validated by the shell), so that a council can
change a timescale, a SPOC address or a keyword without touching code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from mailbot.domain.model import Address, Kind, Ombudsman

# Characters that re.IGNORECASE matches to an ASCII letter but str.lower() does not turn
# into one (or turns into two characters): long s, dotless i, dotted capital I.
_FOLDS_APART = ("\u017f", "\u0131", "\u0130")


def aligned(text: str, lowered: str) -> bool:
    """Whether `lowered` (text.lower()) finds every place where an ASCII word could match
    `text` case-insensitively, at the same index: no character became two, and none of
    the few that the regex folds differently is present."""
    return len(lowered) == len(text) and not any(c in text for c in _FOLDS_APART)


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Searched:
    """A text made ready, once, for every phrase looked for in it.

    A message is searched for some five hundred phrases (kinds, services, signals); a
    substring test of the whole text for each was most of the time classifying and
    routing took (profiling), where a phrase whose first word is a whole word can be
    ruled out by a set lookup.
    """

    text: str
    lowered: str
    aligned: bool
    # Every run of word characters in `text` and in `lowered`.
    words: frozenset[str] = field(repr=False)

    @classmethod
    def of(cls, text: str) -> Searched:
        lowered = text.lower()
        return cls(text, lowered, aligned(text, lowered),
                   frozenset(_WORD.findall(text)) | frozenset(_WORD.findall(lowered)))


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
        return cls(text=text, weight=weight, pattern=pattern,
                   needle=first if case_sensitive else first.lower(),
                   case_sensitive=case_sensitive, prefix=prefix,
                   whole_word=first.isascii() and _WORD.fullmatch(text.split()[0]) is not None)

    def count(self, searched: Searched, limit: int) -> int:
        """Matches in the text, up to `limit`; a word lookup or a substring test skips the
        regex when it can.

        The regex is tried only where the phrase's first letters occur (found with
        str.find, far faster than the regex scanning every position), which finds exactly
        what scanning would: every match starts there. Case-insensitively that needs the
        text `aligned` (see `aligned`); otherwise the whole text is scanned.
        """
        text, is_aligned = searched.text, searched.aligned
        haystack = text if self.case_sensitive else searched.lowered
        if self.whole_word and (self.case_sensitive or is_aligned):
            if self.needle not in searched.words:
                return 0
        elif self.needle not in haystack:
            return 0
        if not self.prefix or not (self.case_sensitive or is_aligned):
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
class Directorate:
    key: str
    name: str
    director: Address
    executive_assistant: Address


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    directorate: str
    spoc: Address
    head_of_service: Address
    landlord: bool
    statutory: Kind | None
    keywords: tuple[Phrase, ...]
    officers: frozenset[str] = frozenset()

    @property
    def authorised(self) -> frozenset[str]:
        """Who may work this service's cases by email: SPOC, Head of Service, officers."""
        return frozenset({self.spoc.email.lower(), self.head_of_service.email.lower(),
                          *self.officers})


@dataclass(frozen=True)
class OmbudsmanDetails:
    key: Ombudsman
    name: str
    website: str
    phone: str
    email: str | None
    address: str


@dataclass(frozen=True)
class StageTimescale:
    respond_days: int
    extension_max_days: int
    request_window_days: int | None = None
    acknowledge_days: int | None = None
    # When performance is reported against a longer limit than the one residents are
    # promised (adult social care: respond in 10, reported against 20 working days).
    performance_days: int | None = None


@dataclass(frozen=True)
class Procedure:
    """One kind's timescales; `clock_starts` is "acknowledgement" or "receipt"."""

    kind: Kind
    acknowledge_days: int | None
    clock_starts: str
    stages: dict[int, StageTimescale]


@dataclass(frozen=True)
class KindRules:
    phrases: dict[Kind, tuple[Phrase, ...]]
    default_kind: Kind
    min_score: int
    mp_domains: tuple[str, ...]


@dataclass(frozen=True)
class RoutingRules:
    min_score: int
    min_margin: int
    max_repeats: int
    many_services: int
    landlord_signals: tuple[Phrase, ...]
    landlord_min_score: int


@dataclass(frozen=True)
class Council:
    name: str
    reference_prefix: str
    feedback_team: Address
    website: str
    phone: str
    closures: frozenset[dt.date]
    acknowledgements_per_day: int
    attachment_forward_limit: int
    feedback_members: frozenset[str] = frozenset()
    investigating_officer: Address | None = None
    copy_constituent: bool = False

    @property
    def feedback_authorised(self) -> frozenset[str]:
        return frozenset({self.feedback_team.email.lower(), *self.feedback_members})


ROLES = ("spoc", "head_of_service", "director", "executive_assistant", "feedback_team",
         "investigating_officer")


@dataclass(frozen=True)
class Schedule:
    """When chasing jobs run and whom they write to (roles, see ROLES)."""

    daily_at: dt.time
    reminder_days: tuple[int, ...]
    reminder_to: tuple[str, ...]
    overdue_to: tuple[str, ...]
    overdue_repeat_days: int
    escalation_days: int
    escalation_to: tuple[str, ...]
    ack_warning_to: tuple[str, ...]
    holding_days: int
    holding_aim_days: int
    window_expiry: bool
    summary_weekday: int
    summary_at: dt.time
    summary_to: tuple[str, ...]
    digest_to: tuple[str, ...]
    summary_max_listed: int


@dataclass(frozen=True)
class Rules:
    council: Council
    directorates: dict[str, Directorate]
    services: dict[str, Service]
    ombudsmen: dict[Ombudsman, OmbudsmanDetails]
    procedures: dict[Kind, Procedure]
    kinds: KindRules
    routing: RoutingRules
    schedule: Schedule
    escalation: tuple[Phrase, ...] = ()
    escalation_min_score: int = 2

    @property
    def staff_addresses(self) -> frozenset[str]:
        """Council addresses: their mail to a case is casework, never a resident's."""
        people = [self.council.feedback_team]
        for service in self.services.values():
            people += [service.spoc, service.head_of_service]
        for directorate in self.directorates.values():
            people += [directorate.director, directorate.executive_assistant]
        if self.council.investigating_officer:
            people.append(self.council.investigating_officer)
        officers = {o for s in self.services.values() for o in s.officers}
        return frozenset({*(p.email.lower() for p in people), *officers,
                          *self.council.feedback_members})
