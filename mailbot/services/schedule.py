"""When the daemon runs the chasing jobs: APScheduler 3 cron triggers in Europe/London.

The jobs decide for themselves what is owed (see chasing.py), so the schedule only has to
call them at the configured times, once at start-up to catch up after downtime, and again
every half hour so that a run lost to a database blip is made up the same day (a run that
finds nothing owed costs a few queries). Misfires coalesce into one late run; the daemon
never runs two at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mailbot.domain.workdays import LONDON

MISFIRE_GRACE = 3600  # seconds: a run up to an hour late still happens, once
CATCH_UP_MINUTES = 30


def daily_triggers(times: Iterable[dt.time]) -> list[CronTrigger]:
    return [CronTrigger(hour=at.hour, minute=at.minute, timezone=LONDON)
            for at in sorted(set(times))]


def start_schedule(run: Callable[[], None], times: Iterable[dt.time]) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=LONDON, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE})
    for number, trigger in enumerate(daily_triggers(times)):
        scheduler.add_job(run, trigger, id=f"tick-{number}")
    scheduler.add_job(run, IntervalTrigger(minutes=CATCH_UP_MINUTES, timezone=LONDON),
                      id="tick-catch-up")
    scheduler.add_job(run, id="tick-at-start")
    scheduler.start()
    return scheduler
