"""`mailbot demo`: the whole product in under a minute, with nothing to install or set up.

A site is made in a new temporary folder (or `--out`), with the example council's rules,
SQLite, an embedded IMAP server and an SMTP sink on 127.0.0.1. The real daemon watches
the mailboxes (IDLE) and sends; the demo moves a stepped clock through four weeks from
Monday 23 November 2026, drops each piece of mail of week.toml into the mailboxes at its
time, and at 08:00 each day runs the scheduled jobs, as the daemon's schedule would.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import os
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import TextIO

from mailbot.app import App
from mailbot.demo.imap_server import EmbeddedImapServer
from mailbot.demo.report import Report
from mailbot.demo.script import START, Script, Step, load_script, new_mail, reply_to
from mailbot.demo.sink import Sink, start_sink
from mailbot.domain.workdays import LONDON
from mailbot.services.daemon import Daemon, Handlers, Pacing
from mailbot.services.ports import CaseFilter
from mailbot.site_init import init_site

PASSWORD = "demo"
USERS = {"feedback": PASSWORD, "casework": PASSWORD}
SETTLE_TIMEOUT = 20.0


class SteppedClock:
    """The demo's one clock: it stands still until the script moves it on."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment


def run_demo(out: Path | None, weeks: int, printed: TextIO) -> Path:
    base = out or Path(tempfile.mkdtemp(prefix="mailbot-demo-"))
    sent = base / "sent"
    sent.mkdir(parents=True, exist_ok=True)
    script = load_script()
    started = time.monotonic()
    with EmbeddedImapServer(USERS) as imap:
        sink = Sink(sent, script.recipients, lambda to, raw: imap.deliver(_user(to), raw))
        controller = start_sink(sink)
        try:
            config = _site(base / "site", imap.port, controller.port)
            clock = SteppedClock(dt.datetime.combine(START, dt.time(7), LONDON))
            app = App.open(config, clock)
            report = Report(app, sink)
            try:
                _play(app, clock, imap, script, weeks, report)
            finally:
                app.close()
        finally:
            controller.stop()
    report.print(printed, base, weeks, time.monotonic() - started)
    return base


def _play(app: App, clock: SteppedClock, imap: EmbeddedImapServer, script: Script,
          weeks: int, report: Report) -> None:
    stop = threading.Event()
    daemon = Daemon(app.sources(), Handlers(app.intake()), app.store, app.sender(), clock,
                    Pacing(send_interval=1, max_backoff=2), stop, locks=app.locks)
    thread = threading.Thread(target=daemon.run, name="mailbot-demo-daemon")
    thread.start()
    chasing = app.chasing()
    steps = list(script.steps)
    cases: dict[str, str] = {}
    try:
        for offset in range(weeks * 7):
            day = START + dt.timedelta(days=offset)
            clock.moment = dt.datetime.combine(day, dt.time(8), LONDON)
            tick = chasing.tick(clock.now())
            daemon.wake.set()
            _settle(app, imap)
            report.after(clock.now(), "scheduled jobs" if tick.queued else None)
            while steps and steps[0].at.date() == day:
                step = steps.pop(0)
                clock.moment = step.at
                imap.deliver(*_mail(app, step, cases))
                _settle(app, imap)
                if step.answers is None:
                    cases[step.tag] = _opened(app, step.sender)
                report.after(clock.now(), step.sender)
    finally:
        stop.set()
        thread.join(timeout=15)


def _mail(app: App, step: Step, cases: dict[str, str]) -> tuple[str, bytes]:
    """(mailbox user, raw): new mail to the feedback address, or a reply to the latest
    mail of the given kind on the case that the step's tag opened."""
    if step.answers is None:
        return "feedback", new_mail(step, app.settings.mailbox_for_role("feedback").address)
    raw = [i["raw"] for i in app.store.outbox()
           if i["case"] == cases[step.tag] and i["template"] == step.answers][-1]
    original = email.message_from_bytes(raw.encode(), policy=email.policy.default)
    assert isinstance(original, EmailMessage)
    return _user(str(original["Reply-To"])), reply_to(step, original)


def _opened(app: App, sender: str) -> str:
    """The reference of the latest case whose contact is `sender`."""
    address = email.utils.parseaddr(sender)[1].lower()
    return str([c["reference"] for c in app.store.cases(CaseFilter())
                if (c["contact"] or {}).get("email", "").lower() == address][-1])


def _settle(app: App, imap: EmbeddedImapServer) -> None:
    """Until the daemon has read everything waiting and sent everything queued (a bounce
    or an out-of-office it provokes lands in a mailbox before the "250", so it counts)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        if not any(imap.messages(user) for user in USERS) and \
                not app.store.outbox("queued"):
            return
        time.sleep(0.02)
    raise RuntimeError("the demo daemon did not settle; see the log above")


def _user(address: str) -> str:
    local = address.rpartition("@")[0].split("+")[0].strip("<\" ").rsplit("<", 1)[-1]
    return "casework" if local == "casework" else "feedback"


def _site(directory: Path, imap_port: int, smtp_port: int) -> Path:
    init_site(directory)
    config = directory / "mailbot.toml"
    text = config.read_text()
    text = text.replace("host = \"localhost\"\nport = 25",
                        f"host = \"127.0.0.1\"\nport = {smtp_port}")
    text = text.replace("host = \"localhost\"\nport = 143",
                        f"host = \"127.0.0.1\"\nport = {imap_port}")
    config.write_text(text)
    os.environ["MAILBOT_FEEDBACK_PASSWORD"] = PASSWORD  # this process only
    os.environ["MAILBOT_SPOC_PASSWORD"] = PASSWORD
    return config
