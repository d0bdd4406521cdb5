"""A backlog of twenty batches in a real Dovecot is handled completely, once (SQLite).

How fast a backlog of 5,000 goes, on both databases, is bench/poll_bench.py's question;
this one only needs enough batches to cross every boundary between fetch, file and move.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.services.polling import BATCH
from mailbot.services.ports import CaseFilter
from mailbot.services.watch import poll_all
from tests.conftest import MAIL, MONDAY_MORNING
from tests.imapserver import DovecotServer

BACKLOG = 20 * BATCH


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_backlog(imap_site: Path, dovecot: DovecotServer) -> None:
    template = (MAIL / "complaint_homelessness_delay.eml").read_bytes()
    raws = [template.replace(b"Message-ID: <homeless-1@", f"Message-ID: <b{i}-".encode())
            .replace(b"dean.walker@example.net", f"resident{i}@example.net".encode())
            for i in range(BACKLOG)]
    dovecot.append_many("feedback", "INBOX", raws)
    app = App.open(imap_site, FixedClock(MONDAY_MORNING))
    sources = app.sources()
    (report, _) = poll_all(list(sources.values()), list(sources), app.intake(), app.store,
                           app.clock)
    assert report.error is None and report.outcomes == {"case": BACKLOG}
    assert len(app.store.cases(CaseFilter())) == BACKLOG
    assert dovecot.folder_uids("feedback", "INBOX") == []
    assert len(dovecot.folder_uids("feedback", "Processed")) == BACKLOG
    assert len(app.store.outbox()) == 2 * BACKLOG
    app.close()
