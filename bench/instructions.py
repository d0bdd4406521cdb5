"""Machine instructions a message costs, stage by stage, counted by valgrind's callgrind.

    python bench/instructions.py [--messages 200] [--stages parse,decide,compose,poll,send]

The shared VM's speed drifts by 20% from one minute to the next, so a change worth 5% is
lost in timings; instructions counted are the same from run to run. Each stage runs twice
in a fresh interpreter under callgrind, once with its setup alone and once with the work
too; the difference, divided by the messages, is the stage's cost:
- parse, decide, compose: the pure stages of intake on the backlog's messages (compose:
  the acknowledgement and the routing notice of each);
- poll: a real Dovecot's INBOX of that many messages read and filed (SQLite), IMAP and
  database included;
- send: the outbox that polling filled, sent to the SMTP sink over the default
  connections (per message: two mails).
Only mailbot's process is counted; Dovecot and the sink run in their own processes. As in
`mailbot run`, the long-lived heap is frozen before the work (mailbot/heap.py). The runs
go side by side, one per core: counts do not depend on what else the machine does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest_bench import bench_site  # noqa: E402
from bench.poll_bench import distinct, load_backlog, make_site  # noqa: E402
from bench.sink import Sink  # noqa: E402
from mailbot import heap  # noqa: E402
from mailbot.app import App  # noqa: E402
from mailbot.clock import FixedClock, SystemClock, parse_instant  # noqa: E402
from mailbot.domain.acknowledge import SenderHistory  # noqa: E402
from mailbot.domain.correlate import ThreadMatches, correlate, thread_keys  # noqa: E402
from mailbot.domain.decide import decide  # noqa: E402
from mailbot.services.compose import case_context, compose, snapshot_of  # noqa: E402
from mailbot.services.outbox import deliver  # noqa: E402
from mailbot.services.watch import poll_all  # noqa: E402
from tests.imapserver import DovecotServer  # noqa: E402

STAGES = ("parse", "decide", "compose", "poll", "send")
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def _pure(stage: str, count: int, work: bool, folder: str) -> None:
    app = App.open(bench_site(folder, f"sqlite:///{folder}/bench.db"),
                   FixedClock(parse_instant("2026-11-23T10:00:00")))
    intake, now = app.intake(), app.clock.now()
    identity, rules = intake.identity, intake.rules
    raws = [raw for _, raw in distinct(count, "ir")]
    heap.settle()
    if stage == "parse":
        if work:
            for raw in raws:
                intake.parse(raw)
        return
    inbound = [intake.parse(raw) for raw in raws]
    matched = [correlate(i, thread_keys(i, identity.own_domains, identity.reply_locals,
                                        rules.council.reference_prefix),
                         ThreadMatches({}, {}, {}, {})) for i in inbound]
    if stage == "decide" and not work:
        return
    decisions = [decide(i, c, SenderHistory(0), "feedback", rules, intake.calendar, now, None)
                 for i, c in zip(inbound, matched, strict=True)]
    if stage != "compose" or not work:
        return
    stored = SimpleNamespace(id=1, reference="FB-2026-ABCD1234", token="t")
    for message, decision in zip(inbound, decisions, strict=True):
        if decision.new_case is None:
            continue
        case = snapshot_of(decision.new_case, stored)
        base = case_context(case, rules)
        for notice in decision.notices:
            if notice.to:
                compose(notice, base, message, case.token, identity, intake.renderer, now,
                        rules.council.attachment_forward_limit)


def _served(stage: str, count: int, work: bool, folder: str) -> None:
    tmp = Path(folder)
    logging.basicConfig(level=logging.INFO, filename=tmp / "mailbot.log")
    for variable in ("MAILBOT_FEEDBACK_PASSWORD", "MAILBOT_SPOC_PASSWORD"):
        os.environ[variable] = "secret"
    with Sink() as sink, DovecotServer(tmp / "dovecot") as dovecot:
        app = App.open(make_site(tmp, f"sqlite:///{tmp}/bench.db", dovecot.port, sink.port),
                       SystemClock())
        load_backlog(dovecot, count)
        sources = app.sources()
        heap.settle()
        if stage == "send" or work:
            poll_all(list(sources.values()), list(sources), app.intake(), app.store, app.clock)
        if stage == "send" and work:
            asyncio.run(deliver(app.store, app.sender(), app.clock))
        app.close()


def counted(stage: str, count: int, work: bool) -> int:
    """Instructions of one fresh interpreter running the stage's setup (and work)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--worker", stage, "--messages", str(count), *(["--work"] if work else [])],
        capture_output=True, text=True, check=True)
    found = _COLLECTED.search(done.stderr)
    if not found:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--worker", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--work", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        with tempfile.TemporaryDirectory() as folder:
            run = _served if args.worker in ("poll", "send") else _pure
            run(args.worker, args.messages, args.work, folder)
        return 0
    stages = args.stages.split(",")
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        runs = {(stage, work): pool.submit(counted, stage, args.messages, work)
                for stage in stages for work in (True, False)}
        print("| stage | instructions a message |\n|---|---|")
        for stage in stages:
            cost = runs[stage, True].result() - runs[stage, False].result()
            print(f"| {stage} | {cost / args.messages / 1e6:.2f}M |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
