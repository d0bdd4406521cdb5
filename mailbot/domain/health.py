"""`mailbot status`: is the daemon doing its job? Facts from the database, judged here.

A monitoring system runs `mailbot status` and alerts on a non-zero exit, so "unhealthy"
means something a person must act on now: a mailbox not read for longer than it should
be, a mailbox whose last attempt failed, or mail waiting longer than the relay should ever
take. Quarantined messages, permanent failures and overdue cases are reported, never
alarmed on: they are the Feedback Team's daily work, not the IT team's outage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from mailbot.domain.workdays import LONDON

# The poller looks again at least every poll interval, IDLE or not; this is its slack.
POLL_SLACK = dt.timedelta(minutes=2)
DEFAULT_MAX_UNSENT = dt.timedelta(hours=1)


@dataclass(frozen=True)
class MailboxFacts:
    name: str
    poll_interval: dt.timedelta
    last_poll_at: dt.datetime | None
    last_error: str | None


@dataclass(frozen=True)
class Facts:
    mailboxes: list[MailboxFacts]
    outbox: dict[str, int]  # due, deferred, failed, sent
    oldest_unsent: dt.datetime | None
    quarantined: int
    overdue_cases: int


@dataclass
class Health:
    facts: Facts
    now: dt.datetime
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        f = self.facts
        return {
            "healthy": self.healthy, "problems": self.problems, "at": _iso(self.now),
            "mailboxes": [{"name": m.name, "last_poll_at": _iso(m.last_poll_at),
                           "last_error": m.last_error} for m in f.mailboxes],
            "outbox": f.outbox, "oldest_unsent": _iso(f.oldest_unsent),
            "quarantined": f.quarantined, "overdue_cases": f.overdue_cases,
        }

    def lines(self) -> list[str]:
        f = self.facts
        out = [f"mailbot {'healthy' if self.healthy else 'UNHEALTHY'} at {_iso(self.now)}"]
        for m in f.mailboxes:
            seen = f"last poll {_ago(self.now, m.last_poll_at)}"
            out.append(f"  mailbox {m.name}: {seen}" + (f"; error: {m.last_error}"
                                                        if m.last_error else ""))
        out.append("  outbox: " + ", ".join(f"{n} {k}" for k, n in f.outbox.items())
                   + (f"; oldest unsent {_ago(self.now, f.oldest_unsent)}"
                      if f.oldest_unsent else ""))
        out.append(f"  quarantine: {f.quarantined} waiting for the Feedback Team")
        out.append(f"  cases overdue: {f.overdue_cases}")
        out += [f"problem: {p}" for p in self.problems]
        return out


def assess(facts: Facts, now: dt.datetime,
           max_unsent: dt.timedelta = DEFAULT_MAX_UNSENT) -> Health:
    health = Health(facts, now)
    for box in facts.mailboxes:
        allowed = box.poll_interval + POLL_SLACK
        if box.last_poll_at is None:
            health.problems.append(f"mailbox {box.name} has never been polled")
        elif box.last_error:
            health.problems.append(f"mailbox {box.name}: {box.last_error}")
        elif now - box.last_poll_at > allowed:
            health.problems.append(
                f"mailbox {box.name} last polled {_ago(now, box.last_poll_at)} "
                f"(expected within {_span(allowed)})")
    if facts.oldest_unsent is not None and now - facts.oldest_unsent > max_unsent:
        health.problems.append(f"mail waiting to be sent since {_ago(now, facts.oldest_unsent)}"
                               f" (expected within {_span(max_unsent)})")
    return health


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(LONDON).isoformat(timespec="seconds") if moment else None


def _span(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h" if seconds < 172800 else f"{seconds // 86400} days"


def _ago(now: dt.datetime, moment: dt.datetime | None) -> str:
    return "never" if moment is None else f"{_span(now - moment)} ago"
