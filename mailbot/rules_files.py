"""Load `rules/*.toml` into a validated `Rules` value.

Rules are read at start-up (and on reload) so that a typo in a SPOC address or a timescale
stops the daemon with the file, key and line, instead of misrouting mail for a week.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mailbot.domain.model import Address, Kind, Ombudsman
from mailbot.domain.phrases import Phrase, Phrases
from mailbot.domain.rules import (
    ROLES,
    Council,
    Directorate,
    KindRules,
    OmbudsmanDetails,
    Procedure,
    RoutingRules,
    Rules,
    Schedule,
    Service,
    StageTimescale,
)
from mailbot.tomlcheck import EMAIL, Table, TomlFile

RULE_FILES = ("council.toml", "services.toml", "ombudsman.toml", "procedures.toml",
              "classify.toml", "schedule.toml")
# Files added after sites were first made: a site without one uses the packaged default.
PACKAGED_RULES = Path(__file__).parent / "defaults" / "rules"
LATER_FILES = ("schedule.toml",)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
STATUTORY_KINDS = (Kind.CHILDRENS_STATUTORY.value, Kind.ADULT_SOCIAL_CARE.value)
CLOCK_STARTS = ("acknowledgement", "receipt")


def _address(table: Table, key: str) -> Address:
    person = table.table(key)
    address = Address(person.string("name"), person.email("email"))
    person.finish()
    return address


def _emails(table: Table, key: str) -> frozenset[str]:
    values = table.strings(key, [])
    for value in values:
        if not EMAIL.match(value):
            table.fail(key, f"{value!r} is not an email address")
    return frozenset(v.lower() for v in values)


def _phrases(table: Table) -> Phrases:
    return Phrases.of(Phrase.of(text, weight) for text, weight in table.weights().items())


def _council(file: TomlFile) -> Council:
    council = file.root.table("council")
    calendar = file.root.table("calendar", None)
    closures: set[dt.date] = set()
    if calendar is not None:
        for value in calendar.strings("closures", []):
            try:
                closures.add(dt.date.fromisoformat(value))
            except ValueError:
                calendar.fail("closures", f"{value!r} is not a date (YYYY-MM-DD)")
        calendar.finish()
    acks = file.root.table("acknowledgements", None) or Table(file, {}, "acknowledgements")
    attachments = file.root.table("attachments", None) or Table(file, {}, "attachments")
    mp = file.root.table("mp_enquiries", None) or Table(file, {}, "mp_enquiries")
    prefix = council.string("reference_prefix")
    if not (prefix.isalpha() and prefix.isascii() and 1 <= len(prefix) <= 5):
        council.fail("reference_prefix", "expected 1 to 5 letters, such as CF")
    team = council.table("feedback_team")
    feedback_team = Address(team.string("name"), team.email("email"))
    members = _emails(team, "members")
    result = Council(
        name=council.string("name"),
        reference_prefix=prefix.upper(),
        feedback_team=feedback_team,
        feedback_members=members,
        investigating_officer=_address(council, "investigating_officer")
        if "investigating_officer" in council.data else None,
        website=council.string("website"),
        phone=council.string("phone"),
        closures=frozenset(closures),
        acknowledgements_per_day=acks.integer("per_sender_per_day", 3, minimum=1),
        attachment_forward_limit=attachments.integer("max_forward_bytes", 10 * 2**20),
        copy_constituent=mp.boolean("copy_constituent", False),
    )
    team.finish()
    council.finish()
    acks.finish()
    attachments.finish()
    mp.finish()
    file.root.finish()
    return result


def _services(file: TomlFile) -> tuple[dict[str, Directorate], dict[str, Service]]:
    directorates: dict[str, Directorate] = {}
    for key, table in file.root.table("directorates").items():
        directorates[key] = Directorate(key, table.string("name"), _address(table, "director"),
                                        _address(table, "executive_assistant"))
        table.finish()
    services: dict[str, Service] = {}
    for key, table in file.root.table("services").items():
        directorate = table.string("directorate")
        if directorate not in directorates:
            table.fail("directorate", f"unknown directorate {directorate!r} "
                                      f"(known: {', '.join(directorates)})")
        statutory = table.string("statutory", None, choices=STATUTORY_KINDS)
        keywords = _phrases(table.table("keywords"))
        if not keywords:
            table.fail("keywords", "a service needs at least one keyword")
        services[key] = Service(
            key=key,
            name=table.string("name"),
            directorate=directorate,
            spoc=Address(table.string("name"), table.email("spoc")),
            head_of_service=_address(table, "head_of_service"),
            landlord=table.boolean("landlord", False),
            statutory=Kind(statutory) if statutory else None,
            keywords=keywords,
            officers=_emails(table, "officers"),
        )
        table.finish()
    if len(services) < 2:
        file.root.fail("services", "at least two services are needed to route")
    file.root.finish()
    return directorates, services


def _ombudsmen(file: TomlFile) -> dict[Ombudsman, OmbudsmanDetails]:
    result = {}
    for kind in Ombudsman:
        table = file.root.table(kind.value)
        result[kind] = OmbudsmanDetails(
            key=kind,
            name=table.string("name"),
            website=table.string("website"),
            phone=table.string("phone"),
            email=table.email("email", None),
            address=table.string("address"),
        )
        table.finish()
    file.root.finish()
    return result


def _stage(table: Table) -> StageTimescale:
    stage = StageTimescale(
        respond_days=table.integer("respond_days", minimum=1),
        extension_max_days=table.integer("extension_max_days"),
        request_window_days=table.integer("request_window_days", None, minimum=1),
        acknowledge_days=table.integer("acknowledge_days", None),
        performance_days=table.integer("performance_days", None, minimum=1),
    )
    table.finish()
    return stage


def _procedures(file: TomlFile) -> dict[Kind, Procedure]:
    result = {}
    for kind in Kind:
        table = file.root.table(kind.value)
        stages: dict[int, StageTimescale] = {}
        stage_tables = table.table("stages", None)
        if stage_tables is not None:
            for number, stage_table in stage_tables.items():
                if not number.isdigit() or not 1 <= int(number) <= 3:
                    stage_tables.fail(number, "stages are numbered 1, 2 or 3")
                stages[int(number)] = _stage(stage_table)
        result[kind] = Procedure(
            kind=kind,
            acknowledge_days=table.integer("acknowledge_days", None),
            clock_starts=table.string("clock_starts", choices=CLOCK_STARTS),
            stages=stages,
        )
        table.finish()
    file.root.finish()
    return result


def _classify(file: TomlFile
              ) -> tuple[KindRules, RoutingRules, tuple[Phrases, int]]:
    kinds = file.root.table("kinds")
    default_kind = kinds.string("default_kind", choices=tuple(k.value for k in Kind))
    min_score = kinds.integer("min_score", minimum=1)
    mp_domains = tuple(d.lower() for d in kinds.strings("mp_domains"))
    phrases = {}
    for kind in (Kind.COMPLAINT, Kind.SERVICE_REQUEST, Kind.COMMENT, Kind.COMPLIMENT):
        phrases[kind] = _phrases(kinds.table(kind.value))
    kinds.finish()
    routing = file.root.table("routing")
    landlord = routing.table("landlord")
    routing_rules = RoutingRules(
        min_score=routing.integer("min_score", minimum=1),
        min_margin=routing.integer("min_margin"),
        max_repeats=routing.integer("max_repeats", 3, minimum=1),
        many_services=routing.integer("many_services", 3, minimum=2),
        landlord_signals=_phrases(landlord.table("signals")),
        landlord_min_score=landlord.integer("min_score", minimum=1),
    )
    landlord.finish()
    routing.finish()
    table = file.root.table("escalation")
    escalation = (_phrases(table.table("phrases")), table.integer("min_score", minimum=1))
    table.finish()
    file.root.finish()
    return (KindRules(phrases, Kind(default_kind), min_score, mp_domains), routing_rules,
            escalation)


def _time(table: Table, key: str, default: str) -> dt.time:
    value = table.string(key, default)
    try:
        if len(value) == 5 and value[2] == ":":  # HH:MM, London time; cron has no seconds
            return dt.time.fromisoformat(value)
    except ValueError:
        pass
    table.fail(key, f"expected a London time as HH:MM, such as \"08:00\", got {value!r}")


def _roles(table: Table, key: str, default: list[str]) -> tuple[str, ...]:
    roles = table.strings(key, default)
    for role in roles:
        if role not in ROLES:
            table.fail(key, f"unknown recipient {role!r} (known: {', '.join(ROLES)})")
    if not roles:
        table.fail(key, "needs at least one recipient")
    return tuple(roles)


def _schedule(file: TomlFile) -> Schedule:
    root = file.root
    sections = {name: root.table(name, None) or Table(file, {}, name) for name in (
        "daily", "reminder", "overdue", "escalation", "ack_warning", "holding_update",
        "window_expiry", "weekly_summary")}
    reminder, summary = sections["reminder"], sections["weekly_summary"]
    days_before = reminder.integers("days_before", [3, 1], minimum=1, maximum=30)
    schedule = Schedule(
        daily_at=_time(sections["daily"], "at", "08:00"),
        reminder_days=tuple(sorted(set(days_before), reverse=True)),
        reminder_to=_roles(reminder, "to", ["spoc"]),
        overdue_to=_roles(sections["overdue"], "to", ["spoc", "head_of_service"]),
        overdue_repeat_days=sections["overdue"].integer("repeat_every_days", 7, minimum=1),
        escalation_days=sections["escalation"].integer("days_overdue", 5, minimum=1),
        escalation_to=_roles(sections["escalation"], "to", ["director"]),
        ack_warning_to=_roles(sections["ack_warning"], "to", ["feedback_team"]),
        holding_days=sections["holding_update"].integer("days_overdue", 1, minimum=1),
        holding_aim_days=sections["holding_update"].integer("aim_days", 10, minimum=1),
        window_expiry=sections["window_expiry"].boolean("enabled", True),
        summary_weekday=WEEKDAYS.index(summary.string("weekday", "monday", choices=WEEKDAYS)),
        summary_at=_time(summary, "at", "08:00"),
        summary_to=_roles(summary, "to", ["executive_assistant"]),
        digest_to=_roles(summary, "digest_to", ["feedback_team"]),
        summary_max_listed=summary.integer("max_listed", 100, minimum=1),
    )
    for section in sections.values():
        section.finish()
    root.finish()
    return schedule


def load_rules(directory: Path) -> Rules:
    files = {name: TomlFile(directory / name if name not in LATER_FILES
                            or (directory / name).exists() else PACKAGED_RULES / name)
             for name in RULE_FILES}
    directorates, services = _services(files["services.toml"])
    kinds, routing, escalation = _classify(files["classify.toml"])
    return Rules(
        council=_council(files["council.toml"]),
        directorates=directorates,
        services=services,
        ombudsmen=_ombudsmen(files["ombudsman.toml"]),
        procedures=_procedures(files["procedures.toml"]),
        kinds=kinds,
        routing=routing,
        escalation=escalation[0],
        escalation_min_score=escalation[1],
        schedule=_schedule(files["schedule.toml"]),
    )
