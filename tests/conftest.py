"""Shared fixtures: the example rules, sites on SQLite and PostgreSQL, an SMTP sink.

Servers are real and on 127.0.0.1: PostgreSQL is the machine's (scripts/test.sh starts
it; MAILBOT_TEST_PG points at it), the SMTP sink is aiosmtpd on a free port.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import Calendar
from mailbot.rules_files import load_rules
from mailbot.site_init import DEFAULT_RULES, init_site
from tests.imapserver import DovecotServer
from tests.scratch_db import scratch_postgres

FIXTURES = Path(__file__).parent / "fixtures"
MAIL = FIXTURES / "mail"
PG_ADMIN_URL = os.environ.get(
    "MAILBOT_TEST_PG", "postgresql+psycopg://mailbot:mailbot@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules(DEFAULT_RULES)


@pytest.fixture(scope="session")
def calendar(rules: Rules) -> Calendar:
    return Calendar.for_england(range(2025, 2029), rules.council.closures)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mailbot.db'}"


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A fresh database per test on the real PostgreSQL 15, dropped afterwards."""
    with scratch_postgres(PG_ADMIN_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@dataclass
class Sink:
    """Messages the SMTP sink accepted: (envelope from, recipients, raw bytes)."""

    host: str
    port: int
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse_with: str | None = None
    peers: set[tuple[str, int]] = field(default_factory=set)  # the connections mail came over

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.refuse_with:
            return self.refuse_with
        self.peers.add(tuple(session.peer))  # type: ignore[attr-defined]
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),  # type: ignore[attr-defined]
                              envelope.original_content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    sink = Sink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def site(tmp_path: Path, database_url: str, smtp_sink: Sink) -> Path:
    """A site made by `mailbot init`, its database and SMTP pointed at the test servers."""
    directory = tmp_path / "site"
    init_site(directory)
    config = directory / "mailbot.toml"
    text_ = config.read_text()
    text_ = text_.replace('url = "sqlite:///mailbot.db"', f'url = "{database_url}"')
    text_ = text_.replace('host = "localhost"\nport = 25',
                          f'host = "127.0.0.1"\nport = {smtp_sink.port}')
    config.write_text(text_)
    return config


MONDAY_MORNING = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def app(site: Path) -> Iterator[App]:
    """The test site opened on Monday 23 November 2026, 10:00."""
    opened = App.open(site, FixedClock(MONDAY_MORNING))
    yield opened
    opened.close()


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[DovecotServer]:
    """A real Dovecot on 127.0.0.1 with users feedback and casework (password "secret")."""
    with DovecotServer(tmp_path / "dovecot") as server:
        yield server


@pytest.fixture
def imap_site(site: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test site with both mailboxes on the test Dovecot (IDLE on, 1 s fallback)."""
    monkeypatch.setenv("MAILBOT_FEEDBACK_PASSWORD", "secret")
    monkeypatch.setenv("MAILBOT_SPOC_PASSWORD", "secret")
    text_ = site.read_text()
    text_ = text_.replace('host = "localhost"\nport = 143\n',
                          f'host = "127.0.0.1"\nport = {dovecot.port}\n')
    text_ = text_.replace('folder = "INBOX"\n', 'folder = "INBOX"\npoll_interval = 1\n')
    site.write_text(text_)
    assert text_.count(f"port = {dovecot.port}") == 2
    return site
