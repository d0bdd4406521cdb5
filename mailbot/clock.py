"""The one source of the current time.

Every job takes `now` from a Clock, so tests and `MAILBOT_NOW` can put mailbot on
Christmas Eve or the night the clocks change without touching the system time.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Protocol

from mailbot.domain.workdays import LONDON


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """An aware datetime."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    def __init__(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment


def parse_instant(text: str) -> dt.datetime:
    """ISO 8601; a time without an offset is London local time, as the council reads it."""
    moment = dt.datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=LONDON) if moment.tzinfo is None else moment


def clock_from_environment() -> Clock:
    """`MAILBOT_NOW` fixes the clock for one command; otherwise the system clock."""
    value = os.environ.get("MAILBOT_NOW")
    if not value:
        return SystemClock()
    try:
        return FixedClock(parse_instant(value))
    except ValueError:
        raise ValueError(f"MAILBOT_NOW={value!r} is not an ISO 8601 date or time") from None
