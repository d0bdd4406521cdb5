"""Faults a real server cannot produce on demand: a database that goes away mid-intake,
a mailbox adapter that fails in an unexpected way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mailbot.adapters.parse import parse_message
from mailbot.clock import FixedClock
from mailbot.rendering import Renderer
from mailbot.services.compose import MailIdentity
from mailbot.services.intake import Intake
from mailbot.services.ports import StoreUnavailable
from mailbot.services.watch import poll_all
from tests.conftest import MAIL

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


class DownStore:
    """Every transaction fails as a lost database connection does."""

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        raise StoreUnavailable("connection refused")
        yield


def intake(store: Any, rules: Any, calendar: Any) -> Intake:
    identity = MailIdentity(sender=rules.council.feedback_team, domain="stoke-example.gov.uk",
                            reply_mailboxes={"feedback": "feedback@stoke-example.gov.uk"})
    return Intake(store, parse_message, rules, calendar, Renderer(), identity,
                  FixedClock(NOW), {"feedback": "feedback"})


def test_database_outage_is_raised_not_quarantined(rules: Any, calendar: Any) -> None:
    with pytest.raises(StoreUnavailable):
        intake(DownStore(), rules, calendar).ingest(
            (MAIL / "compliment_bin_crew.eml").read_bytes(), "feedback")


def test_poll_all_keeps_going_after_an_unexpected_error(rules: Any, calendar: Any) -> None:
    def broken() -> Any:
        raise RuntimeError("adapter bug")

    class Empty:
        name = "second"

        def __enter__(self) -> Empty:
            raise StoreUnavailable("database down")

        def __exit__(self, *exc: object) -> None:
            return None

    reports = poll_all([broken, Empty], ["first", "second"],
                       intake(DownStore(), rules, calendar), DownStore(), FixedClock(NOW))
    assert [r.mailbox for r in reports] == ["first", "second"]
    assert "RuntimeError: adapter bug" in str(reports[0].error)
    assert "database down" in str(reports[1].error)
