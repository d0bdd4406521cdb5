"""Logging for people (text) or for log collectors (JSON, one object per line).

Log lines name mailboxes, UIDs, outcomes, case references and outbox ids, never addresses,
subjects or bodies: a log file is copied to places a case file never goes. Structured
fields travel in `extra={...}` and become keys of the JSON object.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from typing import Any

FORMATS = ("text", "json")
_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    """Errors from relays and servers name the recipient ("550 5.1.1 <a@b>: unknown"); what
    goes to a log or a journal keeps the code and the reason, never the address."""
    return _ADDRESS.sub("<address>", text)


def _redacted(record: logging.LogRecord) -> bool:
    """A last guard on every line: whatever an exception or a server put in a message,
    no address leaves through the log."""
    message = record.getMessage()
    if "@" in message:
        record.msg, record.args = redact(message), None
    return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items()
                      if key not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: int, fmt: str | None = None) -> None:
    """`fmt` (or `$MAILBOT_LOG_FORMAT`) is "text" or "json"; text carries no timestamp under
    systemd, whose journal adds its own."""
    fmt = fmt or os.environ.get("MAILBOT_LOG_FORMAT") or "text"
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
        handler.setFormatter(logging.Formatter(f"{stamp}%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_redacted)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # SQL statements carry residents' data in their parameters; the scheduler announces
    # every run. Neither belongs in the log unless someone sets it up on purpose.
    for noisy in ("sqlalchemy", "apscheduler", "aiosmtplib", "imap_tools"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
