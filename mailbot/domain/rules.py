"""The council's rules as typed values: services, procedures, classification, Ombudsmen.

They are data in `rules/*.toml` (loaded and validated by the shell), so that a council can
change a timescale, a SPOC address or a keyword without touching code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailbot.domain.model import Address, Kind, Ombudsman
from mailbot.domain.phrases import NO_PHRASES, Phrases


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
    keywords: Phrases
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
    phrases: dict[Kind, Phrases]
    default_kind: Kind
    min_score: int
    mp_domains: tuple[str, ...]


@dataclass(frozen=True)
class RoutingRules:
    min_score: int
    min_margin: int
    max_repeats: int
    many_services: int
    landlord_signals: Phrases
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
    escalation: Phrases = NO_PHRASES
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
