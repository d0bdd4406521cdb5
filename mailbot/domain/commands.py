"""Officers' #commands: parse the lines at the top of a reply into typed values.

Commands are the first lines of the body that start with `#`, before any other text, in any
case: what an officer types above the quoted case in their own mail client. Everything
after them is the message itself (the response text for `#respond`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from mailbot.domain.model import Address, Kind

OUTCOMES = ("upheld", "partly_upheld", "not_upheld", "resolved", "withdrawn")
NATURES = {
    "communication": "Communication and Information",
    "conduct": "Conduct of an Officer",
    "discrimination": "Discrimination",
    "policy": "Policy",
    "delay": "Service Delay",
    "failure": "Service Failure",
}
NAMES = ("respond", "extend", "reassign", "note", "reclassify", "exclude", "withdraw", "close",
         "natures", "adjustments", "stage2", "constituent")


@dataclass(frozen=True)
class Command:
    name: str
    outcome: str | None = None
    days: int | None = None
    force: bool = False
    text: str = ""
    kind: Kind | None = None
    natures: tuple[str, ...] = ()
    address: Address | None = None


class CommandError(ValueError):
    """A command that cannot be carried out as written; the text goes back to the officer."""


@dataclass(frozen=True)
class Parsed:
    commands: tuple[Command, ...]
    body: str


def split_commands(text: str) -> tuple[list[str], str]:
    """The leading `#` lines and the rest of the body."""
    lines = text.replace("\r\n", "\n").split("\n")
    commands: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if line.startswith("#"):
            commands.append(line)
        elif line:
            break
        index += 1
    return commands, "\n".join(lines[index:]).strip()


def _one(line: str) -> Command:
    name, _, rest = line[1:].strip().partition(" ")
    name, rest = name.lower(), rest.strip()
    if name not in NAMES:
        raise CommandError(f"unknown command #{name or '?'} (known: "
                           f"{', '.join('#' + n for n in NAMES)})")
    if name == "respond":
        match = re.fullmatch(r"outcome\s*=\s*(\S+)", rest, re.IGNORECASE)
        outcome = match.group(1).lower() if match else ""
        if outcome not in OUTCOMES:
            raise CommandError(f"#respond needs outcome=<{'|'.join(OUTCOMES)}>")
        return Command(name, outcome=outcome)
    if name == "extend":
        match = re.fullmatch(r"(\d{1,3})(\s+force)?\s+(\S.*)", rest, re.IGNORECASE)
        if not match or int(match.group(1)) < 1:
            raise CommandError("#extend needs <working days> [force] <reason>, "
                               "e.g. #extend 5 waiting for the surveyor's report")
        return Command(name, days=int(match.group(1)), force=bool(match.group(2)),
                       text=match.group(3).strip())
    if name == "reclassify":
        try:
            return Command(name, kind=Kind(rest.lower()))
        except ValueError:
            raise CommandError(f"#reclassify needs one of: {', '.join(k.value for k in Kind)}"
                               ) from None
    if name == "natures":
        chosen = tuple(n.strip().lower() for n in re.split(r"[,\s]+", rest) if n.strip())
        unknown = [n for n in chosen if n not in NATURES]
        if not chosen or unknown:
            raise CommandError(f"#natures takes a list of: {', '.join(NATURES)}")
        return Command(name, natures=chosen)
    if name == "constituent":
        display, email = parseaddr(rest)
        local, at, domain = email.partition("@")
        if not (local and at and "." in domain and email.isascii()):
            raise CommandError("#constituent needs the constituent's email address, e.g. "
                               "#constituent Jane Smith <jane@example.org>")
        return Command(name, address=Address(display.strip(), email))
    if name in ("reassign", "note", "exclude", "adjustments") and not rest:
        raise CommandError(f"#{name} needs {'a service' if name == 'reassign' else 'some text'}")
    if name in ("withdraw", "close", "stage2") and rest:
        raise CommandError(f"#{name} takes nothing after it")
    return Command(name, text=rest)


def parse_commands(text: str) -> Parsed:
    """All leading commands, or CommandError for the first that is wrong: an officer's
    message is applied whole or not at all."""
    lines, body = split_commands(text)
    return Parsed(tuple(_one(line) for line in lines), body)
