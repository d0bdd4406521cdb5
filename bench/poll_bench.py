"""Poll-to-acknowledgement throughput and IDLE arrival-to-acknowledgement latency,
against a real Dovecot and an aiosmtpd sink on 127.0.0.1 (run as root, like the tests).

    python bench/poll_bench.py [--backlog 5000] [--latency 30] [--postgres ADMIN_URL]

Throughput: a backlog of distinct messages (the labelled classification set, each with its
own Message-ID and sender) waits in the INBOX; the clock runs from `poll --once` starting
to the last acknowledgement accepted by the SMTP sink. Latency: `mailbot run` idles on the
INBOX; messages arrive one at a time and each is timed until its acknowledgement reaches
the sink (matched by In-Reply-To).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest_bench import fresh_postgres  # noqa: E402
from mailbot.app import App  # noqa: E402
from mailbot.clock import SystemClock  # noqa: E402
from mailbot.services.outbox import deliver  # noqa: E402
from mailbot.services.watch import poll_all  # noqa: E402
from mailbot.site_init import init_site  # noqa: E402
from tests.conftest import Sink, free_port  # noqa: E402
from tests.imapserver import DovecotServer  # noqa: E402

SOURCES = sorted((ROOT / "tests/fixtures/classify").glob("*.eml"))


def distinct(count: int, tag: str) -> list[tuple[str, bytes]]:
    """(Message-ID, raw) pairs: each message from its own sender with its own id."""
    bodies = [p.read_bytes() for p in SOURCES]
    out = []
    for i in range(count):
        raw = bodies[i % len(bodies)]
        head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw \
            else raw.partition(b"\n\n")
        lines = [line for line in head.splitlines()
                 if not line.lower().startswith((b"message-id:", b"from:"))]
        message_id = f"<{tag}-{i}@bench.example>"
        lines += [f"Message-ID: {message_id}".encode(),
                  f"From: Resident {i} <resident{i}.{tag}@example.com>".encode()]
        out.append((message_id, b"\r\n".join(lines) + b"\r\n\r\n" + body))
    return out


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


def throughput(app: App, dovecot: DovecotServer, sink: Sink, count: int) -> float:
    dovecot.append_many("feedback", "INBOX", [raw for _, raw in distinct(count, "tp")])
    sources = app.sources()
    started = time.perf_counter()
    poll_all(list(sources.values()), list(sources), app.intake(), app.store, app.clock)
    asyncio.run(deliver(app.store, app.sender(), app.clock, batch=500))
    elapsed = time.perf_counter() - started
    acks = sum(1 for _, _, raw in sink.messages if b"Auto-Submitted: auto-replied" in raw)
    assert acks == count, f"{acks} acknowledgements for {count} messages"
    return count / elapsed


def latency(app: App, dovecot: DovecotServer, sink: Sink, count: int) -> list[float]:
    stop = threading.Event()
    daemon = app.daemon(stop)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    time.sleep(2)
    waits = []
    try:
        for message_id, raw in distinct(count, "lat"):
            sent_before = len(sink.messages)
            started = time.perf_counter()
            dovecot.append("feedback", "INBOX", raw)
            needle = f"In-Reply-To: {message_id}".encode()
            while not any(needle in m[2] for m in sink.messages[sent_before:]):
                if time.perf_counter() - started > 30:
                    raise RuntimeError(f"no acknowledgement for {message_id} in 30 s")
                time.sleep(0.01)
            waits.append(time.perf_counter() - started)
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=20)
    return waits


def run(db: str, db_url: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sink = Sink("127.0.0.1", free_port())
        controller = Controller(sink, hostname=sink.host, port=sink.port)
        controller.start()
        with DovecotServer(tmp / "dovecot") as dovecot:
            for variable in ("MAILBOT_FEEDBACK_PASSWORD", "MAILBOT_SPOC_PASSWORD"):
                os.environ[variable] = "secret"
            config = make_site(tmp, db_url.replace("{tmp}", str(tmp)), dovecot.port, sink.port)
            app = App.open(config, SystemClock())
            rate = throughput(app, dovecot, sink, args.backlog)
            sink.messages.clear()
            waits = latency(app, dovecot, sink, args.latency) if args.latency else []
            app.close()
        controller.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p50 = statistics.median(waits) if waits else float("nan")
    p95 = statistics.quantiles(waits, n=20)[18] if len(waits) >= 20 else float("nan")
    print(f"| {db} | {args.backlog} | {rate:.0f} | {len(waits)} | {p50:.2f} | {p95:.2f} | "
          f"{peak:.0f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--latency", type=int, default=30, help="messages timed with IDLE")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to bench too")
    args = parser.parse_args()
    print("| database | backlog | poll-to-ack msgs/s | IDLE samples | p50 s | p95 s | "
          "peak RSS MB |\n|---|---|---|---|---|---|---|", flush=True)
    run("SQLite (WAL)", "sqlite:///{tmp}/bench.db", args)
    if args.postgres:
        with fresh_postgres(args.postgres) as url:
            run("PostgreSQL 15", url, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
