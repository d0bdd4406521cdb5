"""`mailbot run` as systemd runs it: signals, reload, readiness and watchdog, JSON logs.

Each test starts the real command in a subprocess against Dovecot and the SMTP sink.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.adapters.db.repository import SqlStore
from mailbot.services.ports import CaseFilter
from mailbot.settings import load_settings
from tests.conftest import MONDAY_MORNING, Sink
from tests.daemonproc import DaemonProcess, backlog, wait_until
from tests.imapserver import DovecotServer

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
NOW = {"MAILBOT_NOW": MONDAY_MORNING.isoformat()}


@pytest.fixture
def notify_socket() -> Iterator[tuple[list[str], str]]:
    """systemd's end of sd_notify: an abstract datagram socket, as systemd itself uses,
    read all the time as systemd reads it (its queue holds only ten datagrams)."""
    name = f"@mailbot-test-{uuid.uuid4().hex[:12]}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name[1:])
    sock.settimeout(0.2)
    told: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                told.append(sock.recv(4096).decode())

    reader = threading.Thread(target=read)
    reader.start()
    yield told, name
    done.set()
    reader.join()
    sock.close()


def counts(site: Path) -> tuple[int, int]:
    """(cases, acknowledgements sent), read beside the daemon straight from its database
    (opening the App would refuse the broken template the reload test writes)."""
    store = SqlStore(load_settings(site).database_url)
    try:
        cases = len(store.cases(CaseFilter()))
        sent = sum(1 for i in store.outbox("sent") if i["template"] == "acknowledgement")
        return cases, sent
    finally:
        store.close()


def test_sigterm_mid_backlog_exits_0_within_10_s_and_a_restart_finishes_it(
        imap_site: Path, dovecot: DovecotServer, smtp_sink: Sink, tmp_path: Path) -> None:
    dovecot.append_many("feedback", "INBOX", backlog(400))
    daemon = DaemonProcess(imap_site, tmp_path / "run.log", env=NOW)
    wait_until(lambda: counts(imap_site)[0] >= 20, 60, "the first cases")
    code, took = daemon.stop(signal.SIGTERM)
    assert code == 0, daemon.log()
    assert took < 10
    assert "SIGTERM: finishing the message in hand" in daemon.log()
    assert counts(imap_site)[0] < 400, "the stop should have cut the backlog short"

    again = DaemonProcess(imap_site, tmp_path / "run.log", env=NOW)
    wait_until(lambda: counts(imap_site) == (400, 400), 120, "the whole backlog acknowledged")
    code, took = again.stop(signal.SIGINT)
    assert code == 0 and took < 10
    assert dovecot.folder_uids("feedback", "INBOX") == []
    acks = [raw for _, _, raw in smtp_sink.messages if b"We have received your" in raw]
    ids = [line for raw in acks for line in raw.splitlines() if line.startswith(b"Message-ID:")]
    assert len(ids) == len(set(ids)) == 400


def test_readiness_watchdog_reload_and_json_logs(
        imap_site: Path, dovecot: DovecotServer, smtp_sink: Sink, tmp_path: Path,
        notify_socket: tuple[list[str], str]) -> None:
    told, address = notify_socket
    templates = imap_site.parent / "templates"
    templates.mkdir()
    config = imap_site.read_text().replace('# templates = "templates"', 'templates = "templates"')
    imap_site.write_text(config)
    subject = templates / "acknowledgement.subject.j2"
    subject.write_text("First version [{{ case.reference }}]")
    daemon = DaemonProcess(imap_site, tmp_path / "run.log", "--log-format", "json", env={
        **NOW, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"})
    try:
        wait_until(lambda: len(told) >= 3, 30, "readiness and two keep-alives")
        assert told[0].startswith("READY=1")
        assert told[1:3] == ["WATCHDOG=1", "WATCHDOG=1"]  # every half second

        def deliver_and_wait(raws: list[bytes], count: int) -> list[bytes]:
            dovecot.append_many("feedback", "INBOX", raws)
            wait_until(lambda: counts(imap_site)[1] == count, 30, f"{count} acknowledgements")
            return [raw for _, _, raw in smtp_sink.messages]

        sent = deliver_and_wait(backlog(1, "a"), 1)
        assert any(b"Subject: First version" in raw for raw in sent)

        subject.write_text("Second version [{{ case.reference }}]")
        daemon.send(signal.SIGHUP)
        wait_until(lambda: "reloaded rules and templates" in daemon.log(), 10, "the reload")
        sent = deliver_and_wait(backlog(1, "b"), 2)
        assert any(b"Subject: Second version" in raw for raw in sent)

        subject.write_text("Broken {{ case.reference ")
        daemon.send(signal.SIGHUP)
        wait_until(lambda: "refused" in daemon.log(), 10, "the refused reload")
        sent = deliver_and_wait(backlog(1, "c"), 3)
        assert sum(b"Subject: Second version" in raw for raw in sent) == 2
    finally:
        code, _ = daemon.stop()
    assert code == 0
    lines = [json.loads(line) for line in daemon.log().splitlines()]
    refused = [e for e in lines if "refused" in e["message"]]
    assert refused and refused[0]["level"] == "error"
    assert "acknowledgement.subject.j2" in refused[0]["message"]
    handled = [e for e in lines if e.get("outcome")]
    assert [(e["mailbox"], e["outcome"]) for e in handled] == [("feedback", "case")] * 3
    assert all(e["case"].startswith("CF-") for e in handled)
    text = daemon.log()
    assert "example.net" not in text and "still no decision" not in text
    wait_until(lambda: "STOPPING=1" in told, 5, "STOPPING=1")
    assert sum(state.startswith("RELOADING=1") for state in told) == 2


@pytest.fixture
def silent_relay() -> Iterator[int]:
    """A relay that accepts the connection and then says nothing, as a hung one does."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept)
    thread.start()
    yield listener.getsockname()[1]
    done.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_sigterm_while_the_relay_hangs_still_exits_0_within_10_s(
        imap_site: Path, dovecot: DovecotServer, smtp_sink: Sink, silent_relay: int,
        tmp_path: Path) -> None:
    text = imap_site.read_text()
    assert text.count(f"port = {smtp_sink.port}\n") == 1
    imap_site.write_text(text.replace(f"port = {smtp_sink.port}\n", f"port = {silent_relay}\n"))
    dovecot.append_many("feedback", "INBOX", backlog(3))
    daemon = DaemonProcess(imap_site, tmp_path / "run.log", env=NOW)
    wait_until(lambda: counts(imap_site)[0] == 3, 30, "the cases")
    time.sleep(1.0)  # the sender is now waiting for the relay's greeting
    code, took = daemon.stop(signal.SIGTERM)
    assert code == 0 and took < 10, daemon.log()
    assert counts(imap_site) == (3, 0)  # nothing sent, nothing lost: still queued
