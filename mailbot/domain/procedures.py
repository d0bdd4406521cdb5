"""Timescale tables turned into dates.

The complaints policy starts a complaint's clock at acknowledgement, an MP enquiry's at
receipt; which applies is data (`clock_starts`) so a council with another policy changes
the rules, not this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailbot.domain.rules import Procedure
from mailbot.domain.workdays import Calendar, add_working_days


@dataclass(frozen=True)
class Deadlines:
    acknowledge_due: dt.date | None
    response_due: dt.date | None
    reasons: tuple[str, ...]


def first_deadlines(
    procedure: Procedure,
    stage: int,
    received: dt.date,
    acknowledged: dt.date | None,
    calendar: Calendar,
) -> Deadlines:
    """Acknowledgement and response dates for a case opened on `received`.

    When the clock starts at acknowledgement and nothing was acknowledged (an automatic
    message, say), there is no response date yet: the case waits for a person.
    """
    reasons: list[str] = []
    ack_due = None
    if procedure.acknowledge_days is not None:
        ack_due = add_working_days(calendar, received, procedure.acknowledge_days)
        reasons.append(f"acknowledge within {procedure.acknowledge_days} working days "
                       f"of receipt: by {ack_due.isoformat()}")
    timescale = procedure.stages.get(stage)
    if timescale is None:
        return Deadlines(ack_due, None, (*reasons, f"no response timescale for {procedure.kind}"))
    start = acknowledged if procedure.clock_starts == "acknowledgement" else received
    if start is None:
        return Deadlines(ack_due, None, (*reasons, "response clock waits for acknowledgement"))
    due = add_working_days(calendar, start, timescale.respond_days)
    reasons.append(f"respond within {timescale.respond_days} working days of "
                   f"{procedure.clock_starts} ({start.isoformat()}): by {due.isoformat()}")
    return Deadlines(ack_due, due, tuple(reasons))
