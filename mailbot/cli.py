"""The command line: parse arguments, open the app, call one service, print the result.

Exit codes: 0 done; 1 something was refused or failed (the message says what);
2 the configuration or the command line is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from mailbot.app import App
from mailbot.cli_reports import cmd_cases, cmd_outbox, cmd_show, cmd_status
from mailbot.clock import clock_from_environment
from mailbot.logs import FORMATS, redact
from mailbot.logs import configure as configure_logging
from mailbot.output import print_json, print_table
from mailbot.services.outbox import Control, deliver
from mailbot.services.ports import SendError
from mailbot.services.watch import poll_all
from mailbot.site_init import SiteExists, init_site
from mailbot.tomlcheck import ConfigError

QUARANTINE_COLUMNS = (("id", "Id", 6), ("mailbox", "Mailbox", 12),
                      ("received_at", "Received", 25), ("size", "Bytes", 9),
                      ("reason", "Reason", 70))


def cmd_init(args: argparse.Namespace) -> int:
    try:
        written = init_site(Path(args.directory))
    except SiteExists as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"mailbot: cannot create {args.directory}: {exc.strerror}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"next: mailbot --config {Path(args.directory) / 'mailbot.toml'} check")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """No config, no network, no root: everything on 127.0.0.1 in a temporary folder."""
    from mailbot.demo.run import run_demo  # aiosmtpd and the demo servers load only here

    try:
        run_demo(args.out, args.weeks, sys.stdout)
    except ConfigError as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_check(app: App, args: argparse.Namespace) -> int:
    rules = app.rules
    print(f"{app.settings.path}: OK")
    print(f"rules {app.settings.rules_dir}: {len(rules.directorates)} directorates, "
          f"{len(rules.services)} services, {len(rules.procedures)} procedures")
    print(f"mailboxes: {', '.join(f'{b.name} ({b.role})' for b in app.settings.mailboxes)}")
    return 0


def cmd_ingest(app: App, args: argparse.Namespace) -> int:
    app.settings.mailbox(args.mailbox)
    intake = app.intake()
    refused = 0
    for name in args.files:
        try:
            raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            print(f"{name}: cannot read: {exc.strerror}", file=sys.stderr)
            refused += 1
            continue
        result = intake.ingest(raw, args.mailbox)
        stream = sys.stderr if result.outcome == "quarantined" else sys.stdout
        print(f"{name}: {result.detail}", file=stream)
        refused += result.outcome == "quarantined"
    return 1 if refused else 0


def cmd_send(app: App, args: argparse.Namespace) -> int:
    lease = app.locks.try_acquire("outbox")
    if lease is None:
        print("another mailbot process is sending the outbox; nothing to do")
        return 0
    try:
        report = asyncio.run(deliver(app.store, app.sender(), app.clock,
                                     control=Control(entitled=lease.held)))
    finally:
        lease.release()
    print(f"sent {len(report.sent)}, deferred {len(report.deferred)}, "
          f"failed {len(report.failed)}")
    for item, error in report.deferred + report.failed:  # `outbox` shows the full error
        print(f"  outbox {item}: {redact(error)}", file=sys.stderr)
    return 1 if report.deferred or report.failed else 0


def cmd_poll(app: App, args: argparse.Namespace) -> int:
    sources = app.sources()
    reports = poll_all(list(sources.values()), list(sources), app.intake(), app.store,
                       app.clock, app.locks)
    for report in reports:
        print(report.summary(), file=sys.stderr if report.error else sys.stdout)
    return 1 if any(r.error for r in reports) else 0


def cmd_run(app: App, args: argparse.Namespace) -> int:
    """SIGTERM and SIGINT stop after the message in hand; SIGHUP reloads rules and
    templates. Handlers only set flags: the daemon's main thread does the work."""
    stop = threading.Event()
    log = logging.getLogger("mailbot")
    if not args.verbose:
        logging.getLogger().setLevel(logging.INFO)
    daemon = app.daemon(stop)

    def request_stop(signum: int, _frame: object) -> None:
        daemon.stop_reason = signal.Signals(signum).name  # no logging in a signal handler
        stop.set()

    def request_reload(_signum: int, _frame: object) -> None:
        daemon.reload_requested.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    signal.signal(signal.SIGHUP, request_reload)
    log.info("running: %s", ", ".join(daemon.sources))
    daemon.run()
    log.info("stopped")
    return 0


def cmd_tick(app: App, args: argparse.Namespace) -> int:
    lease = app.locks.try_acquire("jobs")
    if lease is None:
        print("another mailbot process is running the scheduled jobs; nothing to do")
        return 0
    try:
        report = app.chasing().tick(app.clock.now())
    finally:
        lease.release()
    if args.json:
        print_json(report.as_dict())
    else:
        print(report.summary())
    return 1 if report.errors else 0


def cmd_quarantine(app: App, args: argparse.Namespace) -> int:
    if args.action == "release":
        if args.item is None:
            print("mailbot: quarantine release needs an item id", file=sys.stderr)
            return 2
        result = app.intake().release(args.item)
        stream = sys.stdout if result.outcome in ("case", "threaded", "duplicate") else sys.stderr
        print(f"quarantine item {args.item}: {result.detail}", file=stream)
        return 0 if stream is sys.stdout else 1
    items = app.store.quarantined(include_released=args.all)
    if args.json:
        print_json(items)
    else:
        print_table(items, QUARANTINE_COLUMNS, empty="(quarantine empty)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailbot", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path,
                        default=Path(os.environ.get("MAILBOT_CONFIG", "mailbot.toml")),
                        help="site configuration (default: $MAILBOT_CONFIG or ./mailbot.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    parser.add_argument("--log-format", choices=FORMATS,
                        help="text (default) or json, one object per line "
                             "(or $MAILBOT_LOG_FORMAT)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[..., int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    command("init", cmd_init, "create a site folder with a config and example rules") \
        .add_argument("directory")
    p = command("demo", cmd_demo, "see mailbot work in a minute: embedded IMAP and SMTP "
                "servers on 127.0.0.1, a week of mail, four simulated weeks")
    p.add_argument("--weeks", type=int, default=4, choices=range(1, 9), metavar="1-8",
                   help="simulated weeks (default 4)")
    p.add_argument("--out", type=Path, help="folder for the site and the sent mail "
                   "(default: a new temporary folder)")
    command("check", cmd_check, "validate the config and rules, and open the database")
    p = command("ingest", cmd_ingest, "file raw RFC 5322 messages as if they had arrived")
    p.add_argument("--mailbox", required=True, help="name of a [[mailboxes]] entry")
    p.add_argument("files", nargs="+", help=".eml files, or - for standard input")
    p = command("cases", cmd_cases, "list cases")
    p.add_argument("--json", action="store_true")
    p.add_argument("--status")
    p.add_argument("--kind")
    p.add_argument("--service", help="a service key, or 'triage'")
    p = command("show", cmd_show, "one case with its messages and events")
    p.add_argument("reference")
    p.add_argument("--json", action="store_true")
    p = command("outbox", cmd_outbox, "list outgoing mail, sent or not")
    p.add_argument("--json", action="store_true")
    p.add_argument("--status", choices=("queued", "sent", "failed"))
    command("send", cmd_send, "deliver the outbox over SMTP")
    command("poll", cmd_poll, "read every mailbox once and exit (same as --once)") \
        .add_argument("--once", action="store_true", help="the default; kept for scripts")
    command("run", cmd_run, "the daemon: poll every mailbox (IDLE where offered), send, and "
            "run the scheduled jobs")
    command("tick", cmd_tick, "queue the reminders, overdue notices, escalations, warnings, "
            "holding updates and summaries owed now (MAILBOT_NOW sets now)") \
        .add_argument("--json", action="store_true")
    p = command("status", cmd_status, "health for monitoring: last poll per mailbox, the "
                "outbox, quarantine, overdue cases; exit 1 when unhealthy")
    p.add_argument("--json", action="store_true")
    p.add_argument("--max-unsent-age", type=int, default=60, metavar="MINUTES",
                   help="mail queued longer than this is a problem (default 60)")
    p = command("quarantine", cmd_quarantine,
                "list messages kept but not handled; `quarantine release ID` re-ingests one")
    p.add_argument("action", nargs="?", choices=("list", "release"), default="list")
    p.add_argument("item", nargs="?", type=int, help="quarantine item id (for release)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="include released items")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        configure_logging(logging.INFO if args.verbose else logging.WARNING, args.log_format)
    except ValueError as exc:
        print(f"mailbot: MAILBOT_LOG_FORMAT: {exc}", file=sys.stderr)
        return 2
    if args.command == "init":
        return cmd_init(args)
    if args.command == "demo":
        return cmd_demo(args)
    try:
        app = App.open(args.config, clock_from_environment())
    except (ConfigError, ValueError) as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # e.g. the database server is unreachable
        return _unexpected("cannot start", exc, args.verbose)
    try:
        status: int = args.func(app, args)
        return status
    except ConfigError as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return 2
    except SendError as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a database outage mid-command, or a bug: one line, no trace
        return _unexpected(f"{args.command} failed", exc, args.verbose)
    finally:
        app.close()


def _unexpected(what: str, exc: Exception, verbose: bool) -> int:
    """One readable line for people; the traceback only when they ask for it (-v)."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    print(f"mailbot: {what}: {exc.__class__.__name__}: {first_line}", file=sys.stderr)
    if verbose:
        logging.getLogger(__name__).exception("details")
    else:
        print("mailbot: run with -v for details", file=sys.stderr)
    return 1
