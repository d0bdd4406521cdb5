"""Ingest throughput: raw messages to committed cases with queued acknowledgements.

    python bench/ingest_bench.py [--messages 2000] [--postgres URL]

One process, through the same intake service as `mailbot ingest` (parse, decide, render
two emails, one transaction per message), into a fresh SQLite database and, when a
PostgreSQL URL is given, a fresh PostgreSQL database. Messages are the labelled
classification set with unique Message-IDs, so every one opens a case.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.app import App  # noqa: E402
from mailbot.clock import FixedClock, parse_instant  # noqa: E402
from mailbot.services.ports import CaseFilter  # noqa: E402
from mailbot.site_init import init_site  # noqa: E402
from tests.scratch_db import scratch_postgres  # noqa: E402

SOURCES = sorted((ROOT / "tests/fixtures/classify").glob("*.eml"))


def messages(count: int) -> list[bytes]:
    """`count` distinct messages: fixtures with a fresh Message-ID each."""
    bodies = [p.read_bytes() for p in SOURCES]
    result = []
    for i in range(count):
        raw = bodies[i % len(bodies)]
        result.append(f"Message-ID: <bench-{i}-{secrets.token_hex(4)}@example.com>\r\n"
                      .encode() + raw.replace(b"Message-ID:", b"X-Old-Message-ID:", 1))
    return result


def bench_site(folder: str, url: str) -> Path:
    """A site made by `mailbot init` in `folder`, on the database at `url`."""
    site = Path(folder) / "site"
    init_site(site)
    config = site / "mailbot.toml"
    config.write_text(config.read_text().replace('url = "sqlite:///mailbot.db"',
                                                 f'url = "{url}"'))
    return config


@contextmanager
def profiled(enabled: bool) -> Iterator[None]:
    """cProfile around the block when asked, printed to stderr ($BENCH_SORT orders it)."""
    profiler = cProfile.Profile() if enabled else None
    if profiler:
        profiler.enable()
    try:
        yield
    finally:
        if profiler:
            profiler.disable()
            order = os.environ.get("BENCH_SORT", "cumulative")
            pstats.Stats(profiler, stream=sys.stderr).sort_stats(order).print_stats(25)


def run(url: str, batch: list[bytes], profile: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        app = App.open(bench_site(tmp, url), FixedClock(parse_instant("2026-11-23T10:00:00")))
        intake = app.intake()
        started = time.perf_counter()
        with profiled(profile):
            for raw in batch:
                intake.ingest(raw, "feedback")
        elapsed = time.perf_counter() - started
        cases = len(app.store.cases(CaseFilter()))
        app.close()
        assert cases == len(batch), f"{cases} cases for {len(batch)} messages"
        return len(batch) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to bench too")
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary")
    args = parser.parse_args()
    batch = messages(args.messages)
    print("| database | messages | messages per second |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        rate = run(f"sqlite:///{tmp}/bench.db", batch, args.profile)
    print(f"| SQLite (WAL) | {len(batch)} | {rate:.0f} |")
    if args.postgres:
        with scratch_postgres(args.postgres, "mailbot_bench") as url:
            rate = run(url, batch, args.profile)
        print(f"| PostgreSQL 15 | {len(batch)} | {rate:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
