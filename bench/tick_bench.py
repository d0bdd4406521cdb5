"""`mailbot tick` at scale: 100,000 open cases, SQLite and PostgreSQL.

    python bench/tick_bench.py [--cases 100000] [--postgres ADMIN_URL] [--profile]

Cases are bulk-inserted with response dates spread over the next 100 working days and 1%
already overdue (a council running far behind), across every service. Then, with the
clock fixed at Tuesday 1 December 2026 08:00 London time:
  1. the first tick: everything owed today (reminders, overdue notices, escalations,
     holding updates), each one composed and queued;
  2. the same tick again: nothing is owed, so this is the cost of the queries alone;
  3. the next working day's tick: one ordinary day's work.
Each is timed end to end (queries, composing every email, one transaction per batch).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest_bench import bench_site, profiled  # noqa: E402
from mailbot.adapters.db.orm import CaseRow, OutboxRow  # noqa: E402
from mailbot.app import App  # noqa: E402
from mailbot.clock import FixedClock  # noqa: E402
from mailbot.domain.workdays import LONDON, add_working_days  # noqa: E402
from tests.scratch_db import scratch_postgres  # noqa: E402

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=LONDON)
NEXT_DAY = NOW + dt.timedelta(days=1)
ROWS_PER_INSERT = 5000


def populate(app: App, count: int) -> None:
    rng = random.Random(42)
    services = list(app.rules.services.values())
    today = NOW.date()
    future = [add_working_days(app.calendar, today, n) for n in range(1, 101)]
    rows = []
    for n in range(count):
        service = services[n % len(services)]
        overdue = rng.random() < 0.01
        due = (today - dt.timedelta(days=rng.randint(1, 20)) if overdue
               else rng.choice(future))
        received = NOW - dt.timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 600))
        rows.append({
            "reference": f"CF-26-{n:07d}", "token": f"bench{n:010d}x{rng.getrandbits(64):x}",
            "kind": "complaint", "stage": 1, "status": "open", "service": service.key,
            "directorate": service.directorate, "ombudsman": "lgsco",
            "contact_name": f"Resident {n}", "contact_email": f"resident{n}@example.com",
            "subject": "Bench complaint", "received_at": received,
            "acknowledge_due": received.date() + dt.timedelta(days=7),
            "acknowledged_on": received.date(), "response_due": due, "original_due": due,
            "extended_days": 0, "natures": []})
    with app.store.transaction() as tx:
        for start in range(0, len(rows), ROWS_PER_INSERT):
            tx.session.execute(insert(CaseRow), rows[start:start + ROWS_PER_INSERT])


def timed(app: App, moment: dt.datetime, profile: bool) -> tuple[float, int]:
    started = time.perf_counter()
    with profiled(profile):
        report = app.chasing().tick(moment)
    return time.perf_counter() - started, sum(report.queued.values())


def run(url: str, count: int, profile: bool, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = App.open(bench_site(tmp, url), FixedClock(NOW))
        started = time.perf_counter()
        populate(app, count)
        loaded = time.perf_counter() - started
        first, first_n = timed(app, NOW, profile)
        again, again_n = timed(app, NOW, False)
        next_day, next_n = timed(app, NEXT_DAY, False)
        with app.store.transaction() as tx:
            queued = tx.session.scalar(select(func.count()).select_from(OutboxRow))
        app.close()
        assert again_n == 0 and queued == first_n + next_n
        print(f"| {label} | {count:,} | {first:.1f} s ({first_n:,} queued) | "
              f"{again:.2f} s (0 queued) | {next_day:.1f} s ({next_n:,} queued) | "
              f"{loaded:.0f} s |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to bench too")
    parser.add_argument("--profile", action="store_true", help="profile the first tick")
    args = parser.parse_args()
    print("| database | open cases | first tick | same tick again | next day | load |\n"
          "|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args.cases, args.profile, "SQLite (WAL)")
    if args.postgres:
        with scratch_postgres(args.postgres, "mailbot_bench") as url:
            run(url, args.cases, args.profile, "PostgreSQL 15")
    return 0


if __name__ == "__main__":
    sys.exit(main())
