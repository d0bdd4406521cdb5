"""The demo's script (week.toml), read with the same checked reader as the rules, and
turned into raw emails as a resident's or an officer's mail client would write them."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from mailbot.demo.sink import Recipients
from mailbot.domain.workdays import LONDON
from mailbot.tomlcheck import Table, TomlFile

SCRIPT = Path(__file__).with_name("week.toml")
START = dt.date(2026, 11, 23)  # a Monday; the script's day 0
ANSWERS = ("acknowledgement", "routed_case", "response")


@dataclass(frozen=True)
class Step:
    """New mail (`answers` None), or a reply to the last `answers` mail of case `tag`."""

    tag: str
    at: dt.datetime
    sender: str
    body: str
    subject: str = ""
    answers: str | None = None


@dataclass(frozen=True)
class Script:
    steps: list[Step]
    recipients: Recipients


def load_script(path: Path = SCRIPT) -> Script:
    root = TomlFile(path).root
    people = root.table("recipients")
    recipients = Recipients(frozenset(a.lower() for a in people.strings("bounce", [])),
                            frozenset(a.lower() for a in people.strings("away", [])))
    people.finish()
    steps = [_step(t) for t in root.tables("mail")]
    steps += [_step(t, reply=True) for t in root.tables("reply")]
    root.finish()
    return Script(sorted(steps, key=lambda s: s.at), recipients)


def _step(table: Table, reply: bool = False) -> Step:
    day, at = table.integer("day"), table.string("at")
    try:
        moment = dt.datetime.combine(START + dt.timedelta(days=day),
                                     dt.time.fromisoformat(at), LONDON)
    except ValueError:
        table.fail("at", "expected HH:MM")
    step = Step(table.string("tag"), moment, table.string("from"),
                table.string("body").strip() + "\n",
                "" if reply else table.string("subject"),
                table.string("to", choices=ANSWERS) if reply else None)
    table.finish()
    return step


def new_mail(step: Step, to: str) -> bytes:
    message = _message(step, to, step.subject)
    message.set_content(step.body)
    return message.as_bytes()


def reply_to(step: Step, original: EmailMessage) -> bytes:
    """A reply as mail clients write one: Re: subject, threading headers, the original
    quoted below."""
    target = str(original.get("Reply-To") or original.get("From"))
    message = _message(step, target, f"Re: {original.get('Subject', '')}")
    message["In-Reply-To"] = str(original["Message-ID"])
    message["References"] = str(original["Message-ID"])
    body = original.get_body(("plain",))
    quoted = "".join(f"> {line}\n" for line in
                     (body.get_content() if body else "").splitlines())
    message.set_content(f"{step.body}\nOn {original.get('Date')}, "
                        f"{original.get('From')} wrote:\n{quoted}")
    return message.as_bytes()


def _message(step: Step, to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = step.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(step.at)
    domain = email.utils.parseaddr(step.sender)[1].rpartition("@")[2]
    message["Message-ID"] = email.utils.make_msgid(domain=domain)
    return message
