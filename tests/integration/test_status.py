"""`mailbot status` for monitoring, on SQLite and PostgreSQL: what it reports and when it
exits non-zero."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from mailbot.app import App
from mailbot.cli import main
from mailbot.clock import FixedClock
from tests.conftest import MAIL, MONDAY_MORNING

LATER = MONDAY_MORNING + dt.timedelta(days=30)  # the first case is then overdue


def status(site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
           at: dt.datetime, *args: str) -> tuple[int, Any]:
    monkeypatch.setenv("MAILBOT_NOW", at.isoformat())
    code = main(["--config", str(site), "status", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def polled(app: App, at: dt.datetime, error: str | None = None) -> None:
    with app.store.transaction() as tx:
        for name in ("feedback", "spoc"):
            tx.save_mailbox_state(name, 1, 0, at, error if name == "spoc" else None)


def test_a_site_never_polled_is_unhealthy(site: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    code, report = status(site, capsys, monkeypatch, MONDAY_MORNING)
    assert code == 1 and not report["healthy"]
    assert report["problems"] == ["mailbox feedback has never been polled",
                                  "mailbox spoc has never been polled"]
    assert [m["last_poll_at"] for m in report["mailboxes"]] == [None, None]


def test_healthy_then_each_problem(app: App, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    site = app.settings.path
    intake = app.intake()
    intake.ingest((MAIL / "complaint_council_tenant_damp.eml").read_bytes(), "feedback")
    intake.ingest((MAIL / "garbage_binary.eml").read_bytes(), "feedback")
    polled(app, LATER - dt.timedelta(seconds=30))
    with app.store.transaction() as tx:  # the two emails of the case went out
        for item in tx.claim_due(LATER, 10, dt.timedelta(minutes=1), "test"):
            tx.mark_sent(item.id, LATER)

    code, report = status(site, capsys, monkeypatch, LATER)
    assert (code, report["healthy"], report["problems"]) == (0, True, [])
    assert report["outbox"] == {"due": 0, "deferred": 0, "failed": 0, "sent": 2}
    assert report["oldest_unsent"] is None
    assert report["quarantined"] == 1 and report["overdue_cases"] == 1

    code, report = status(site, capsys, monkeypatch, LATER + dt.timedelta(minutes=5))
    assert code == 1
    assert report["problems"] == [
        "mailbox feedback last polled 5 min ago (expected within 3 min)",
        "mailbox spoc last polled 5 min ago (expected within 3 min)"]

    polled(app, LATER, error="mailbox spoc (127.0.0.1:143): connection refused")
    code, report = status(site, capsys, monkeypatch, LATER)
    assert code == 1
    assert report["problems"] == ["mailbox spoc: mailbox spoc (127.0.0.1:143): connection refused"]

    polled(app, LATER)
    later = App.open(site, FixedClock(LATER))
    later.intake().ingest((MAIL / "complaint_homelessness_delay.eml").read_bytes(), "feedback")
    later.close()
    code, report = status(site, capsys, monkeypatch, LATER + dt.timedelta(seconds=90))
    assert code == 0 and report["outbox"]["due"] == 2
    code, report = status(site, capsys, monkeypatch, LATER + dt.timedelta(seconds=90),
                          "--max-unsent-age", "1")
    assert code == 1
    assert report["problems"][-1] == "mail waiting to be sent since 90 s ago (expected within 60 s)"


def test_the_text_report(app: App, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    polled(app, MONDAY_MORNING)
    monkeypatch.setenv("MAILBOT_NOW", MONDAY_MORNING.isoformat())
    assert main(["--config", str(app.settings.path), "status"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "mailbot healthy at 2026-11-23T10:00:00+00:00",
        "  mailbox feedback: last poll 0 s ago",
        "  mailbox spoc: last poll 0 s ago",
        "  outbox: 0 due, 0 deferred, 0 failed, 0 sent",
        "  quarantine: 0 waiting for the Feedback Team",
        "  cases overdue: 0"]
