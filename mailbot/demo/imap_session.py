"""The mail the demo's IMAP server keeps, and one client's session with it.

A session serves what mailbot's ImapSource sends through imap-tools (LOGIN, LIST, CREATE,
SELECT, STATUS, UID SEARCH ALL, UID FETCH, UID MOVE, IDLE), and APPEND so imaplib can seed
it: no more, as the demo needs no more, and every command served is one to get right.
Not served: TLS, AUTHENTICATE, SEARCH other than ALL, sections other than BODY[], COPY,
STORE, EXPUNGE, EXAMINE, DELETE, RENAME, LSUB and SUBSCRIBE; all are answered BAD.

Sessions run on threads of their own, as deliver() does, so one lock guards all mail; no
socket I/O happens under it, so a slow client holds up no one.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import socket
import socketserver
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mailbot.demo.imap_wire import TAG, Bad, Reader, Token, quote, sequence_set, text

CAPABILITIES = "IMAP4rev1 IDLE MOVE"
IDLE_SLICE = 0.05  # seconds: how soon a client in IDLE hears of new mail
_FLAGS = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
_FETCH_ITEMS = {"UID", "FLAGS", "RFC822.SIZE", "BODY[]", "BODY.PEEK[]"}
# The state each command needs: any, logged out (N), logged in (A), a folder selected (S).
_STATES = {"CAPABILITY": "*", "NOOP": "*", "LOGOUT": "*", "LOGIN": "N", "SELECT": "A",
           "CREATE": "A", "LIST": "A", "STATUS": "A", "APPEND": "A", "IDLE": "A",
           "SEARCH": "S", "FETCH": "S", "MOVE": "S", "UID SEARCH": "S", "UID FETCH": "S",
           "UID MOVE": "S"}
# RFC 3501 7.4.1: no EXPUNGE during these, or sequence numbers would shift under the client.
_NO_EXPUNGE = {"SEARCH", "FETCH", "UID SEARCH", "UID FETCH"}
# From the clock, so a restarted demo never hands out a UIDVALIDITY it used before.
_UIDVALIDITY = itertools.count(int(time.time()))


class _No(Exception):
    """A well-formed command that cannot be carried out: NO."""


@dataclass
class Message:
    raw: bytes  # as it came, so a client gets back exactly what was delivered
    flags: set[str]


@dataclass
class Folder:
    uidvalidity: int = field(default_factory=lambda: next(_UIDVALIDITY))
    uidnext: int = 1
    messages: dict[int, Message] = field(default_factory=dict)  # by UID, in UID order

    def add(self, raw: bytes, flags: Iterable[str] = ()) -> int:
        uid, self.uidnext = self.uidnext, self.uidnext + 1
        self.messages[uid] = Message(raw, set(flags))
        return uid


def folder_name(token: Token) -> str:
    """INBOX is case-insensitive (RFC 3501 5.1); other names are kept as sent."""
    name = text(token).rstrip("/")
    if not name:
        raise Bad("empty folder name")
    return "INBOX" if name.upper() == "INBOX" else name


class Mailstore:
    """Every user's password and folders, each user starting with an INBOX."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self.lock = threading.Lock()
        self.passwords = dict(users)
        self.boxes = {user: {"INBOX": Folder()} for user in users}


class Session(socketserver.BaseRequestHandler):
    """One client. `view` is the UIDs it has been told of, in sequence-number order: it moves
    only as the client is told (EXISTS, EXPUNGE), so sequence numbers stay consistent."""

    request: socket.socket

    def __init__(self, request: socket.socket, client_address: Any,
                 server: socketserver.BaseServer, *, store: Mailstore) -> None:
        self.store = store  # first: the base class serves the whole session in its __init__
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        self.reader, self.pending = Reader(self.request), list[bytes]()
        self.user, self.folder, self.mailbox = "", "", dict[str, Folder]()
        self.view, self.known_next, self.done = list[int](), 1, False

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # a client gone mid-command ends only its session
            self._send(f"* OK [CAPABILITY {CAPABILITIES}] mailbot demo IMAP server ready")
            while not self.done:
                self._flush()
                self._command(self.reader.line())
            self._flush()

    def _send(self, *lines: str | bytes) -> None:
        self.pending += [(x.encode() if isinstance(x, str) else x) + b"\r\n" for x in lines]

    def _flush(self) -> None:
        data, self.pending = b"".join(self.pending), []
        self.request.sendall(data)

    def _command(self, line: bytes) -> None:
        if not (tagged := TAG.match(line)):
            self._send("* BAD no command tag")
            return
        tag = tagged[1].decode()
        try:
            name, *args = self.reader.command(line)[1:] or [""]
            name = text(name).upper()
            if name == "UID" and args:
                name, args = f"UID {text(args[0]).upper()}", args[1:]
            if name not in _STATES:
                raise Bad(f"unknown command {name[:40]}")
            state = {"*": True, "N": not self.user, "A": self.user, "S": self.folder}
            if not state[_STATES[name]]:
                raise Bad(f"{name} is not allowed now")
            run = getattr(self, "_" + name.removeprefix("UID ").lower())
            result = run(args, name.startswith("UID ")) or f"{name} completed"
            if self.folder and not self.done and name not in _NO_EXPUNGE:
                self._sync(expunge=True)
            self._send(f"{tag} OK {result}")
        except _No as exc:
            self._send(f"{tag} NO {exc}")
        except (Bad, ValueError, IndexError, KeyError) as exc:
            self._send(f"{tag} BAD {exc if isinstance(exc, Bad) else 'malformed arguments'}")

    def _sync(self, expunge: bool) -> None:
        """Tell the client what changed in its folder since it last looked (RFC 3501 7.3, 7.4)."""
        with self.store.lock:
            box = self.mailbox[self.folder]
            present, new = set(box.messages), [u for u in box.messages if u >= self.known_next]
            self.known_next = box.uidnext
        for seq in range(len(self.view), 0, -1) if expunge else ():
            if self.view[seq - 1] not in present:
                del self.view[seq - 1]
                self._send(f"* {seq} EXPUNGE")
        if new:
            self.view += new
            self._send(f"* {len(self.view)} EXISTS")

    def _box(self, name: str, missing: str = "[NONEXISTENT]") -> Folder:
        """A folder of the logged-in user; the caller holds the lock."""
        if name not in self.mailbox:
            raise _No(f"{missing} no folder {name}")
        return self.mailbox[name]

    def _targets(self, token: Token, uid: bool) -> list[tuple[int, int]]:
        """(sequence number, UID) of each message in the client's view that a set names."""
        top = (self.view[-1] if uid else len(self.view)) if self.view else 0
        named = sequence_set(token, top)
        return [(seq, u) for seq, u in enumerate(self.view, 1) if named(u if uid else seq)]

    def _capability(self, args: list[Token], uid: bool) -> None:
        self._send(f"* CAPABILITY {CAPABILITIES}")

    def _noop(self, args: list[Token], uid: bool) -> None:
        """Nothing to do: the sync after each command reports new and expunged mail."""

    def _logout(self, args: list[Token], uid: bool) -> None:
        self._send("* BYE logging out")
        self.done = True

    def _login(self, args: list[Token], uid: bool) -> None:
        user, password = map(text, args)
        if self.store.passwords.get(user) != password:
            raise _No("[AUTHENTICATIONFAILED] invalid user name or password")
        self.user, self.mailbox = user, self.store.boxes[user]

    def _select(self, args: list[Token], uid: bool) -> str:
        name, self.folder, self.view = folder_name(args[0]), "", []  # a failed SELECT deselects
        with self.store.lock:
            box = self._box(name)
            self.view, self.known_next, validity = list(box.messages), box.uidnext, box.uidvalidity
        self.folder = name
        self._send(f"* FLAGS {_FLAGS}", f"* {len(self.view)} EXISTS", "* 0 RECENT",
                   f"* OK [UIDVALIDITY {validity}] UIDs valid",
                   f"* OK [UIDNEXT {self.known_next}] predicted next UID")
        return "[READ-WRITE] SELECT completed"

    def _create(self, args: list[Token], uid: bool) -> None:
        with self.store.lock:
            if (name := folder_name(args[0])) in self.mailbox:
                raise _No("[ALREADYEXISTS] folder exists")
            self.mailbox[name] = Folder()

    def _list(self, args: list[Token], uid: bool) -> None:
        if not (pattern := text(args[1])):  # RFC 3501 6.3.8: asks for the hierarchy delimiter
            self._send('* LIST (\\Noselect) "/" ""')
            return
        pattern = text(args[0]) + pattern
        if pattern[:5].upper() == "INBOX":
            pattern = "INBOX" + pattern[5:]
        wildcards = {"*": ".*", "%": "[^/]*"}
        match = re.compile("".join(wildcards.get(c, re.escape(c)) for c in pattern)).fullmatch
        with self.store.lock:
            names = sorted(filter(match, self.mailbox))
        self._send(*(f'* LIST () "/" {quote(name)}' for name in names))

    def _status(self, args: list[Token], uid: bool) -> None:
        name, items = folder_name(args[0]), args[1]
        if not isinstance(items, list):
            raise Bad("STATUS takes a list of items")
        with self.store.lock:
            box = self._box(name)
            values = {"MESSAGES": len(box.messages), "RECENT": 0, "UIDNEXT": box.uidnext,
                      "UIDVALIDITY": box.uidvalidity,
                      "UNSEEN": sum("\\Seen" not in m.flags for m in box.messages.values())}
        pairs = (f"{item} {values[item]}" for item in (text(i).upper() for i in items))
        self._send(f"* STATUS {quote(name)} ({' '.join(pairs)})")

    def _append(self, args: list[Token], uid: bool) -> None:
        """APPEND folder [(flags)] [date] literal; the date is not kept."""
        name, rest, flags = folder_name(args[0]), args[1:], list[str]()
        if rest and isinstance(rest[0], list):
            flags, rest = [text(f) for f in rest[0]], rest[1:]
        if len(rest) == 2 and isinstance(rest[0], str):
            rest.pop(0)
        if len(rest) != 1 or not isinstance(rest[0], bytes):
            raise Bad("APPEND needs the message as a literal")
        with self.store.lock:
            self._box(name, "[TRYCREATE]").add(rest[0], flags)

    def _idle(self, args: list[Token], uid: bool) -> str:
        """RFC 2177. The continuation goes first, alone: imap-tools reads exactly one response
        and wants it. Then changes are pushed until the client sends DONE."""
        self._send("+ idling")
        self._flush()
        while not self.reader.ready(IDLE_SLICE):
            if self.folder:
                self._sync(expunge=True)
                self._flush()
        if self.reader.line().upper() != b"DONE":
            raise Bad("expected DONE")
        return "IDLE terminated"

    def _search(self, args: list[Token], uid: bool) -> None:
        words = [text(a).upper() for a in args]
        if (words[2:] if words[:1] == ["CHARSET"] else words) != ["ALL"]:
            raise Bad("only SEARCH ALL is served")
        self._sync(expunge=False)
        with self.store.lock:
            present = set(self.mailbox[self.folder].messages)
        hits = [str(u if uid else seq) for seq, u in enumerate(self.view, 1) if u in present]
        self._send(" ".join(["* SEARCH", *hits]))

    def _fetch(self, args: list[Token], uid: bool) -> None:
        """UID, FLAGS and size go before the body: mailbot reads the UID from the text ahead
        of the literal, and imap-tools expects the literal to end the response."""
        targets = self._targets(args[0], uid)
        items = {text(t).upper() for t in (args[1] if isinstance(args[1], list) else args[1:])}
        if not items or not items <= _FETCH_ITEMS:
            raise Bad("unsupported FETCH item")
        with self.store.lock:
            box = self.mailbox[self.folder]
            for seq, u in targets:
                if (message := box.messages.get(u)) is None:
                    continue  # moved by another client, not yet reported to this one
                if "BODY[]" in items:
                    message.flags.add("\\Seen")
                values = {"UID": u, "FLAGS": "(" + " ".join(sorted(message.flags)) + ")",
                          "RFC822.SIZE": len(message.raw)}
                parts = [f"{i} {values[i]}".encode() for i in values if i in items or
                         (i == "UID" and uid) or (i == "FLAGS" and "BODY[]" in items)]
                if items & {"BODY[]", "BODY.PEEK[]"}:
                    parts.append(f"BODY[] {{{len(message.raw)}}}\r\n".encode() + message.raw)
                self._send(f"* {seq} FETCH (".encode() + b" ".join(parts) + b")")

    def _move(self, args: list[Token], uid: bool) -> None:
        """RFC 6851; the sync after the command sends the EXPUNGEs."""
        targets, name = self._targets(args[0], uid), folder_name(args[1])
        with self.store.lock:
            source, target = self.mailbox[self.folder], self._box(name, "[TRYCREATE]")
            for _, u in targets:
                if (message := source.messages.pop(u, None)) is not None:
                    target.add(message.raw, message.flags)
