"""When the daemon runs the chasing jobs: APScheduler 3 cron triggers in Europe/London.

The jobs decide for themselves what is owed (see chasing.py), so the schedule only has to
call them at the configured times, once at start-up to catch up after downtime, and never
twice at once. Misfires (the machine asleep at 08:00) coalesce into one late run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from mailbot.domain.workdays import LONDON

MISFIRE_GRACE = 3600  # seconds: a run up to an hour late still happens, once


def daily_triggers(times: Iterable[dt.time]) -> list[CronTrigger]:
    return [CronTrigger(hour=at.hour, minute=at.minute, timezone=LONDON)
            for at in sorted(set(times))]


def start_schedule(run: Callable[[], None], times: Iterable[dt.time]) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=LONDON, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE})
    for number, trigger in enumerate(daily_triggers(times)):
        scheduler.add_job(run, trigger, id=f"tick-{number}")
    scheduler.add_job(run, id="tick-at-start")
    scheduler.start()
    return scheduler
