"""Polling real mailboxes on a real Dovecot: new mail, re-reads, crashes, restarts,
a new UIDVALIDITY, IDLE, and a mailbox that fails while the other carries on."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.adapters.imap_source import ImapSource
from mailbot.app import App
from mailbot.cli import main
from mailbot.clock import FixedClock
from mailbot.services.polling import BATCH, poll_mailbox
from mailbot.services.ports import CaseFilter
from mailbot.services.watch import poll_all
from tests.conftest import MAIL, MONDAY_MORNING
from tests.imapserver import DovecotServer

NAMES = ("complaint_council_tenant_damp.eml", "compliment_bin_crew.eml",
         "mp_enquiry_parking.eml", "garbage_binary.eml")


@pytest.fixture
def app(imap_site: Path) -> Iterator[App]:  # the shared fixture, on the Dovecot site
    opened = App.open(imap_site, FixedClock(MONDAY_MORNING))
    yield opened
    opened.close()


def poll(app: App) -> list[str]:
    sources = app.sources()
    reports = poll_all(list(sources.values()), list(sources), app.intake(), app.store,
                       app.clock)
    return [r.summary() for r in reports if r.error] or []


def test_poll_once_files_moves_and_quarantines(app: App, dovecot: DovecotServer,
                                              imap_site: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for name in NAMES:
        dovecot.append("feedback", "INBOX", (MAIL / name).read_bytes())
    assert main(["--config", str(imap_site), "poll", "--once"]) == 0
    assert "feedback: 3 case, 1 quarantined" in capsys.readouterr().out
    assert dovecot.folder_uids("feedback", "INBOX") == []
    assert len(dovecot.folder_uids("feedback", "Processed")) == 3
    assert len(dovecot.folder_uids("feedback", "Quarantine")) == 1
    assert len(app.store.cases(CaseFilter())) == 3
    assert len(app.store.quarantined()) == 1
    assert main(["--config", str(imap_site), "poll", "--once"]) == 0
    assert len(app.store.cases(CaseFilter())) == 3


def test_message_seen_again_is_handled_once(app: App, dovecot: DovecotServer) -> None:
    raw = (MAIL / "complaint_homelessness_delay.eml").read_bytes()
    dovecot.append("feedback", "INBOX", raw)
    assert poll(app) == []
    dovecot.append("feedback", "INBOX", raw)  # delivered twice, or copied back by a person
    assert poll(app) == []
    assert len(app.store.cases(CaseFilter())) == 1
    assert len(dovecot.folder_uids("feedback", "Processed")) == 2


def test_crash_between_commit_and_move(app: App, dovecot: DovecotServer) -> None:
    raws = [(MAIL / n).read_bytes() for n in NAMES[:3]]
    for raw in raws:
        dovecot.append("feedback", "INBOX", raw)
    for raw in raws[:2]:  # the daemon committed these, then died before moving them
        app.intake().ingest(raw, "feedback")
    assert poll(app) == []
    assert len(app.store.cases(CaseFilter())) == 3
    assert dovecot.folder_uids("feedback", "INBOX") == []
    assert len(app.store.outbox()) == 6  # two emails per case, none twice


def test_uidvalidity_change_rereads_without_duplicates(app: App,
                                                       dovecot: DovecotServer) -> None:
    for name in NAMES[:3]:
        dovecot.append("feedback", "INBOX", (MAIL / name).read_bytes())
    app.intake().ingest((MAIL / NAMES[0]).read_bytes(), "feedback")
    with app.store.transaction() as tx:
        tx.save_mailbox_state("feedback", dovecot.uidvalidity("feedback", "INBOX"), 3,
                              MONDAY_MORNING, None)
    dovecot.change_uidvalidity("feedback", "INBOX")
    sources = app.sources()
    reports = poll_all(list(sources.values()), list(sources), app.intake(), app.store,
                       app.clock)
    assert reports[0].uidvalidity_changed
    assert len(app.store.cases(CaseFilter())) == 3
    assert dovecot.folder_uids("feedback", "INBOX") == []


def test_one_mailbox_failing_does_not_stop_the_other(app: App, dovecot: DovecotServer,
                                                      imap_site: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    dovecot.append("casework", "INBOX", (MAIL / NAMES[1]).read_bytes())
    monkeypatch.setenv("MAILBOT_FEEDBACK_PASSWORD", "wrong")
    assert main(["--config", str(imap_site), "poll", "--once"]) == 1
    out, err = capsys.readouterr()
    assert "spoc: 1 case" in out and "feedback" in err and "Traceback" not in err
    assert len(app.store.cases(CaseFilter())) == 1


def test_server_restart_mid_poll_loses_and_repeats_nothing(app: App,
                                                          dovecot: DovecotServer) -> None:
    raws = [(MAIL / NAMES[i % 3]).read_bytes().replace(
        b"Message-ID: <", f"Message-ID: <r{i}-".encode()) for i in range(300)]
    dovecot.append_many("feedback", "INBOX", raws)

    def restart_after_the_first_batch() -> None:
        # Not after a fixed delay: a fast pass had filed the whole backlog before it.
        deadline = time.monotonic() + 60
        while len(app.store.cases(CaseFilter())) < BATCH and time.monotonic() < deadline:
            time.sleep(0.01)
        dovecot.restart()

    restarter = threading.Thread(target=restart_after_the_first_batch)
    restarter.start()
    first = poll(app)
    restarter.join()
    for _ in range(5):
        if not dovecot.folder_uids("feedback", "INBOX"):
            break
        poll(app)
    assert first, "the restart should have interrupted the first pass"
    assert dovecot.folder_uids("feedback", "INBOX") == []
    assert len(app.store.cases(CaseFilter())) == 300
    routed = [i["case"] for i in app.store.outbox() if i["template"] == "routed_case"]
    assert len(routed) == len(set(routed)) == 300  # each case routed exactly once


def test_idle_wakes_the_daemon_and_the_ack_goes_out(app: App, dovecot: DovecotServer,
                                                   smtp_sink: object) -> None:
    stop = threading.Event()
    daemon = app.daemon(stop)
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        time.sleep(1.0)  # connected and idling
        started = time.monotonic()
        dovecot.append("feedback", "INBOX", (MAIL / NAMES[0]).read_bytes())
        while time.monotonic() - started < 10:
            if any(i["status"] == "sent" and i["template"] == "acknowledgement"
                   for i in app.store.outbox()):
                break
            time.sleep(0.05)
        latency = time.monotonic() - started
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert latency < 5, f"acknowledgement took {latency:.1f} s"
    assert len(app.store.cases(CaseFilter())) == 1


def test_mail_announced_in_a_reply_is_not_waited_for(app: App, dovecot: DovecotServer) -> None:
    """Mail that arrives during a pass is announced in the reply to one of its commands,
    and Dovecot does not announce it again when IDLE starts: the watcher must see that
    announcement itself instead of idling until the polling interval."""
    settings = dataclasses.replace(app.settings.mailboxes[0], poll_interval=30)
    with ImapSource(settings, "secret") as source:
        assert source.pending() == []
        dovecot.append("feedback", "INBOX", (MAIL / NAMES[0]).read_bytes())
        source.uidvalidity()  # STATUS: its reply carries "* 1 EXISTS"
        started = time.monotonic()
        source.wait_for_mail(threading.Event())
        assert time.monotonic() - started < 1.0
        assert len(source.pending()) == 1
        stop = threading.Event()
        threading.Timer(1.0, stop.set).start()
        source.wait_for_mail(stop)  # the announcement counted once: now it idles
        assert time.monotonic() - started > 1.0


def test_a_backlog_wakes_the_sender_after_every_batch(app: App, dovecot: DovecotServer) -> None:
    """After an outage, acknowledgements must start going out while the backlog is being
    filed, not only once the whole folder has been read."""
    template = (MAIL / "complaint_homelessness_delay.eml").read_bytes()
    count = 2 * BATCH + 10
    dovecot.append_many("feedback", "INBOX", [
        template.replace(b"Message-ID: <homeless-1@", f"Message-ID: <w{i}-".encode())
        for i in range(count)])
    filed_when_woken: list[int] = []

    class Wake(threading.Event):
        def set(self) -> None:
            filed_when_woken.append(len(app.store.cases(CaseFilter())))
            super().set()

    with app.sources()["feedback"]() as source:
        poll_mailbox(source, app.intake(), app.store, app.clock, wake=Wake())
    assert filed_when_woken == [BATCH, 2 * BATCH, count]
