"""End to end, against a real Dovecot and an SMTP sink on 127.0.0.1 (run as root, like the
tests): backlog throughput, IDLE arrival-to-acknowledgement latency, peak memory.

    python bench/poll_bench.py [--backlog 5000] [--latency 40] [--memory-backlog 20000]
                               [--postgres ADMIN_URL]

A backlog of distinct messages (the labelled classification set, each with its own
Message-ID and sender) waits in the INBOX. Throughput is timed two ways, each from the
start to the last acknowledgement accepted by the sink: `poll --once` then `send`, one
after the other; and `mailbot run`, the daemon, whose mailbox thread ingests while its
main thread sends. Latency: the same daemon, now idling on the INBOX, gets messages one
at a time, each timed until its acknowledgement reaches the sink (matched by
In-Reply-To). Each measurement runs in a fresh process on a fresh database, so its peak
RSS (VmHWM) is mailbot's alone; the sink runs in a process of its own (bench/sink.py).
Beside the rates: when the first acknowledgement reached the sink (a backlog must not
hold every reply back until it is all filed), and the CPU time per message of mailbot's
process and of the sink's while the daemon drained the backlog: on two cores, with one
interpreter lock, that CPU is what bounds the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sink import Sink  # noqa: E402
from mailbot.app import App  # noqa: E402
from mailbot.clock import SystemClock  # noqa: E402
from mailbot.services.outbox import deliver  # noqa: E402
from mailbot.services.watch import poll_all  # noqa: E402
from mailbot.site_init import init_site  # noqa: E402
from tests.imapserver import DovecotServer  # noqa: E402
from tests.scratch_db import scratch_postgres  # noqa: E402

SOURCES = sorted((ROOT / "tests/fixtures/classify").glob("*.eml"))
CHUNK = 1000  # messages written to the Maildir at a time, so the bench holds few


def distinct(count: int, tag: str) -> Iterator[tuple[str, bytes]]:
    """(Message-ID, raw) pairs: each message from its own sender with its own id."""
    bodies = [p.read_bytes() for p in SOURCES]
    for i in range(count):
        raw = bodies[i % len(bodies)]
        head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw \
            else raw.partition(b"\n\n")
        lines = [line for line in head.splitlines()
                 if not line.lower().startswith((b"message-id:", b"from:"))]
        message_id = f"<{tag}-{i}@bench.example>"
        lines += [f"Message-ID: {message_id}".encode(),
                  f"From: Resident {i} <resident{i}.{tag}@example.com>".encode()]
        yield message_id, b"\r\n".join(lines) + b"\r\n\r\n" + body


def make_site(tmp: Path, db_url: str, imap_port: int, smtp_port: int) -> Path:
    init_site(tmp / "site")
    config = tmp / "site" / "mailbot.toml"
    text = config.read_text()
    text = text.replace('url = "sqlite:///mailbot.db"', f'url = "{db_url}"')
    text = text.replace('host = "localhost"\nport = 25', f'host = "127.0.0.1"\nport = {smtp_port}')
    text = text.replace('host = "localhost"\nport = 143\n',
                        f'host = "127.0.0.1"\nport = {imap_port}\n')
    config.write_text(text)
    return config


def load_backlog(dovecot: DovecotServer, count: int) -> None:
    messages = (raw for _, raw in distinct(count, "tp"))
    while chunk := list(islice(messages, CHUNK)):
        dovecot.append_many("feedback", "INBOX", chunk)


def once(app: App) -> None:
    """`mailbot poll --once`, then `mailbot send`."""
    sources = app.sources()
    poll_all(list(sources.values()), list(sources), app.intake(), app.store, app.clock)
    asyncio.run(deliver(app.store, app.sender(), app.clock))


def latency(dovecot: DovecotServer, sink: Sink, count: int) -> list[float]:
    """Seconds from each message's arrival to its acknowledgement, the daemon idling."""
    waits = []
    for message_id, raw in distinct(count, "lat"):
        started = time.monotonic()
        dovecot.append("feedback", "INBOX", raw)
        while (answered := sink.seen(message_id)) is None:
            if time.monotonic() - started > 30:
                raise RuntimeError(f"no acknowledgement for {message_id} in 30 s")
            time.sleep(0.01)
        waits.append(answered - started)
        time.sleep(0.2)
    return waits


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM: of its own address space, not its parent's)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def cpu_seconds() -> float:
    """This process's CPU time, user and system (the kernel's share of loopback I/O)."""
    times = os.times()
    return times.user + times.system


@dataclass
class Result:
    rate: float
    waits: list[float]
    peak_mb: float
    first_ack: float  # seconds from the start to the first acknowledgement at the sink
    cpu_ms: float  # mailbot's CPU per message while draining the backlog
    sink_ms: float  # the sink's, per message (two mails)


def measure(mode: str, db_url: str, backlog: int, samples: int) -> Result:
    """One measurement in this (fresh) process: mode "once" or "run"."""
    with tempfile.TemporaryDirectory() as tmp_name, Sink() as sink:
        tmp = Path(tmp_name)
        # As `mailbot run` does: an INFO line per message, here to a file.
        logging.basicConfig(level=logging.INFO, filename=tmp / "mailbot.log")
        with DovecotServer(tmp / "dovecot") as dovecot:
            for variable in ("MAILBOT_FEEDBACK_PASSWORD", "MAILBOT_SPOC_PASSWORD"):
                os.environ[variable] = "secret"
            config = make_site(tmp, db_url.replace("{tmp}", str(tmp)), dovecot.port, sink.port)
            app = App.open(config, SystemClock())
            load_backlog(dovecot, backlog)
            waits: list[float] = []
            stop = threading.Event()
            thread = threading.Thread(target=app.daemon(stop).run, daemon=True) \
                if mode == "run" else None
            started, cpu, sink_cpu = time.monotonic(), cpu_seconds(), sink.cpu_seconds()
            if thread is None:
                once(app)
            else:
                thread.start()
            finished = sink.wait_for_acks(backlog, 120 + backlog / 5)
            cpu_ms = 1000 * (cpu_seconds() - cpu) / backlog
            sink_ms = 1000 * (sink.cpu_seconds() - sink_cpu) / backlog
            first_ack = sink.acks()[1] - started
            if thread is not None:
                try:
                    waits = latency(dovecot, sink, samples)
                except RuntimeError as error:  # say what the daemon was doing
                    tail = (tmp / "mailbot.log").read_text().splitlines()[-15:]
                    raise RuntimeError("\n".join([str(error), *tail])) from None
                finally:
                    stop.set()
                    thread.join(timeout=20)
            app.close()
    return Result(backlog / (finished - started), waits, peak_rss_mb(), first_ack, cpu_ms,
                  sink_ms)


def in_fresh_process(mode: str, db_url: str, backlog: int, samples: int = 0) -> Result:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1) as pool:
        return pool.submit(measure, mode, db_url, backlog, samples).result()


@contextmanager
def fresh_database(admin_url: str | None) -> Iterator[str]:
    """A new SQLite file (in the measuring process's directory) or PostgreSQL database."""
    if admin_url is None:
        yield "sqlite:///{tmp}/bench.db"
    else:
        with scratch_postgres(admin_url, "mailbot_bench") as url:
            yield url


def bench(db: str, admin_url: str | None, args: argparse.Namespace) -> None:
    with fresh_database(admin_url) as url:
        sequential = in_fresh_process("once", url, args.backlog)
    with fresh_database(admin_url) as url:
        run = in_fresh_process("run", url, args.backlog, args.latency)
    waits = run.waits
    p50 = statistics.median(waits) if waits else float("nan")
    p95 = statistics.quantiles(waits, n=20)[18] if len(waits) >= 20 else float("nan")
    print(f"| {db} | {args.backlog} | {sequential.rate:.0f} | {run.rate:.0f} | "
          f"{run.first_ack:.1f} | {run.cpu_ms:.1f} | {run.sink_ms:.1f} | {len(waits)} | "
          f"{p50:.2f} | {p95:.2f} | {max(sequential.peak_mb, run.peak_mb):.0f} |", flush=True)
    if args.memory_backlog:
        with fresh_database(admin_url) as url:
            big = in_fresh_process("run", url, args.memory_backlog)
        print(f"| {db} | {args.memory_backlog} | | {big.rate:.0f} | {big.first_ack:.1f} | "
              f"{big.cpu_ms:.1f} | {big.sink_ms:.1f} | | | | {big.peak_mb:.0f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--latency", type=int, default=30, help="messages timed with IDLE")
    parser.add_argument("--memory-backlog", type=int, default=0,
                        help="also drain a backlog this large with `mailbot run`, for peak RSS")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to bench too")
    args = parser.parse_args()
    print("| database | backlog | poll --once, send msgs/s | mailbot run msgs/s | "
          "first ack s | mailbot CPU ms/msg | sink CPU ms/msg | IDLE samples | p50 s | "
          "p95 s | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    bench("SQLite (WAL)", None, args)
    if args.postgres:
        bench("PostgreSQL 15", args.postgres, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
