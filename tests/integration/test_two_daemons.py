"""Two `mailbot run` processes on one database and one Dovecot: each mailbox is read by
one of them, a standby takes over when the reader stops, and nothing is handled or sent
twice (SQLite through file locks beside the database, PostgreSQL through advisory locks)."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

from tests.conftest import MONDAY_MORNING, Sink
from tests.daemonproc import DaemonProcess, backlog, wait_until
from tests.imapserver import DovecotServer
from tests.integration.test_daemon_process import counts

NOW = {"MAILBOT_NOW": MONDAY_MORNING.isoformat()}
BACKLOG = 300


def header(raw: bytes, name: bytes) -> bytes:
    return next(line for line in raw.splitlines() if line.startswith(name + b":"))


def test_two_daemons_share_the_work_and_do_it_once(
        imap_site: Path, dovecot: DovecotServer, smtp_sink: Sink, tmp_path: Path) -> None:
    dovecot.append_many("feedback", "INBOX", backlog(BACKLOG))
    first = DaemonProcess(imap_site, tmp_path / "first.log", env=NOW)
    wait_until(lambda: "running:" in first.log(), 30, "the first daemon")
    second = DaemonProcess(imap_site, tmp_path / "second.log", env=NOW)
    try:
        wait_until(lambda: "standing by" in second.log(), 30, "the second to stand by")
        wait_until(lambda: counts(imap_site)[0] >= 50, 60, "the first cases")
        code, _ = first.stop(signal.SIGTERM)
        assert code == 0
        wait_until(lambda: counts(imap_site) == (BACKLOG, BACKLOG), 120,
                   "the second daemon to finish the backlog")
    finally:
        if first.proc.poll() is None:
            first.kill()
        code, _ = second.stop(signal.SIGTERM)
    assert code == 0
    assert "taking over from another mailbot process" in second.log()
    assert dovecot.folder_uids("feedback", "INBOX") == []

    raws = [raw for _, _, raw in smtp_sink.messages]
    sent = Counter(header(raw, b"Message-ID") for raw in raws)
    assert max(sent.values()) == 1, "a message was sent twice"
    assert sum(b"We have received your" in raw for raw in raws) == BACKLOG
    assert sum(b"] New complaint" in raw for raw in raws) == BACKLOG
    assert sum(b"Weekly complaints digest" in raw for raw in raws) == 1
