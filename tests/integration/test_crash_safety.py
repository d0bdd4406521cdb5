"""SIGKILL at random moments while `mailbot run` works through a backlog, then restart:
every message is handled exactly once and every acknowledgement reaches the sink.

A kill can land between the relay's "250" and the commit that marks the item sent; that
item is sent again after the restart (once twice the relay's deadline has passed, as it
may still have been on its way), byte for byte the same (same Message-ID), which the
recipient's client folds into one. So the sink may see at most one repeat per kill and
connection to the relay (each connection has at most one item between its "250" and its
mark), and only of that kind; everything else is exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from mailbot.adapters.db.repository import SqlStore
from mailbot.settings import load_settings
from tests.conftest import Sink
from tests.daemonproc import DaemonProcess, backlog, wait_until
from tests.imapserver import DovecotServer
from tests.integration.test_daemon_process import counts

BACKLOG = 800  # enough that the kills are spent before a fast daemon drains it
KILLS = 8
SENDING = "outbox: this process sends the outbox"
SEED = int(os.environ.get("MAILBOT_CRASH_SEED", "20261123"))


def unsent(site: Path) -> int:
    """Outbox items not yet sent: the routed copies and the digest finish after the last
    acknowledgement, and an item in flight at the last kill waits out its protection."""
    store = SqlStore(load_settings(site).database_url)
    try:
        return sum(1 for item in store.outbox() if item["status"] != "sent")
    finally:
        store.close()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_sigkill_at_random_points_loses_and_repeats_nothing(
        imap_site: Path, dovecot: DovecotServer, smtp_sink: Sink, tmp_path: Path) -> None:
    # The real clock, and a relay deadline of 3 s: a message in flight at a kill goes
    # again 6 s later (twice the deadline), as it would after 6 minutes by default.
    imap_site.write_text(imap_site.read_text().replace(
        'security = "none"            # "none" | "starttls" | "tls"\n# username = "mailbot"',
        'security = "none"\ntimeout = 1\n# username = "mailbot"', 1))
    assert "timeout = 1" in imap_site.read_text()
    dovecot.append_many("feedback", "INBOX", backlog(BACKLOG))
    chance = random.Random(SEED)
    log = tmp_path / "run.log"
    kills = 0
    while kills < KILLS and counts(imap_site) != (BACKLOG, BACKLOG):
        daemon = DaemonProcess(imap_site, log)
        time.sleep(chance.uniform(0.2, 1.5))
        daemon.kill()  # SIGKILL: no handler runs, nothing is tidied
        kills += 1
    assert kills == KILLS, "the backlog finished before the kills were spent: make it bigger"
    started = log.read_text(errors="replace").count(SENDING)
    final = DaemonProcess(imap_site, log)
    try:  # up before it is stopped, even if the others finished everything
        wait_until(lambda: log.read_text(errors="replace").count(SENDING) > started, 30,
                   "the last daemon to start")
        wait_until(lambda: counts(imap_site) == (BACKLOG, BACKLOG) and not unsent(imap_site),
                   180, "the backlog")
    finally:
        code, _ = final.stop(signal.SIGTERM)
    assert code == 0

    assert dovecot.folder_uids("feedback", "INBOX") == []
    store = SqlStore(load_settings(imap_site).database_url)
    try:
        outbox = store.outbox()
    finally:
        store.close()
    per_case = Counter((item["case"], item["template"]) for item in outbox if item["case"])
    assert len(per_case) == 2 * BACKLOG and set(per_case.values()) == {1}
    assert sum(item["template"] == "digest" for item in outbox) <= 1  # on a Monday, once
    assert all(item["status"] == "sent" for item in outbox)

    received = Counter(raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]
                       for _, _, raw in smtp_sink.messages)
    ours = Counter(item["message_id"].encode() for item in outbox)
    assert set(received) == set(ours), "every acknowledgement and routed copy arrived"
    repeats = sum(n - 1 for n in received.values())
    connections = load_settings(imap_site).smtp.connections
    assert repeats <= kills * connections, f"{repeats} repeats from {kills} kills"
    by_id: dict[bytes, set[bytes]] = {}
    for _, _, raw in smtp_sink.messages:
        by_id.setdefault(raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0], set()).add(raw)
    assert all(len(copies) == 1 for copies in by_id.values()), "a repeat differed"
