"""Log lines: JSON with the structured fields, and never an address, whatever the message."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from mailbot.logs import configure, redact


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure() sets up the root logger, as a command does; put pytest's back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("sqlalchemy", "apscheduler",
                                                                "aiosmtplib", "imap_tools")}
    yield
    root.handlers[:], root.level = handlers, level
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


def test_redact_keeps_the_reason_and_drops_the_address() -> None:
    assert redact("550 5.1.1 <dean.walker@example.net>: Recipient address rejected") == \
        "550 5.1.1 <<address>>: Recipient address rejected"
    assert redact("refused: a@b.example, c.d@e.example") == "refused: <address>, <address>"
    assert redact("mailbox feedback (imap.example:993): timed out") == \
        "mailbox feedback (imap.example:993): timed out"


def test_json_lines_carry_fields_and_no_address(capsys: pytest.CaptureFixture[str]) -> None:
    configure(logging.INFO, "json")
    log = logging.getLogger("mailbot.test")
    log.info("mailbox %s uid %s: %s %s", "feedback", 7, "case", "CF-26-AB12",
             extra={"mailbox": "feedback", "uid": 7, "outcome": "case", "case": "CF-26-AB12"})
    log.error("intake failed: %s", "bad header from jo@example.org")
    logging.getLogger("sqlalchemy.engine.Engine").info("INSERT ... ('jo@example.org')")
    first, second, *rest = capsys.readouterr().err.splitlines()
    assert rest == []  # SQL logging stays off
    entry = json.loads(first)
    assert (entry["level"], entry["mailbox"], entry["uid"], entry["case"]) == \
        ("info", "feedback", 7, "CF-26-AB12")
    assert json.loads(second)["message"] == "intake failed: bad header from <address>"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        configure(logging.INFO, "xml")
