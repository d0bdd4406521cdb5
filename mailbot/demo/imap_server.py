"""An in-memory IMAP4rev1 server on 127.0.0.1, for `mailbot demo`.

The demo must run without root, network or configuration, so it cannot use Dovecot as the
tests do. This serves, from memory, what mailbot's ImapSource sends through imap-tools
(LOGIN, LIST, CREATE, SELECT, STATUS, UID SEARCH ALL, UID FETCH, UID MOVE, IDLE), and APPEND
so imaplib can seed it. Messages are kept and sent as the bytes they came as, in literals.
One thread per client; one lock guards all mail, and no socket I/O happens under it.

Not served: TLS, AUTHENTICATE, SEARCH other than ALL, sections other than BODY[], COPY,
STORE, EXPUNGE, EXAMINE, DELETE, RENAME, LSUB and SUBSCRIBE; all are answered BAD.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import select
import socket
import socketserver
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeAlias, cast

CAPABILITIES = "IMAP4rev1 IDLE MOVE"
IDLE_SLICE = 0.05  # seconds: how soon a client in IDLE hears of new mail
MAX_LINE, MAX_LITERAL = 64 * 1024, 64 * 1024 * 1024
_FLAGS = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
_TAG = re.compile(rb'([^\x00-\x20(){%*"\\+\x7f-\xff]+) ')
_LITERAL = re.compile(rb"\{(\d+)\}$")
_TOKEN = re.compile(rb' *(?:(\()|(\))|"((?:[^"\\\r\n]|\\["\\])*)"|([^ ()"{\r\n]+))')
_SEQSET = re.compile(r"(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*")
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

Token: TypeAlias = "str | bytes | list[Token]"


class _Bad(Exception):
    """A command that cannot be parsed or is not served: BAD, and the connection carries on."""


class _No(Exception):
    """A well-formed command that cannot be carried out: NO."""


@dataclass
class _Message:
    raw: bytes
    flags: set[str]


@dataclass
class _Folder:
    uidvalidity: int = field(default_factory=lambda: next(_UIDVALIDITY))
    uidnext: int = 1
    messages: dict[int, _Message] = field(default_factory=dict)  # by UID, in UID order

    def add(self, raw: bytes, flags: Iterable[str] = ()) -> int:
        uid, self.uidnext = self.uidnext, self.uidnext + 1
        self.messages[uid] = _Message(raw, set(flags))
        return uid


def _str(token: Token) -> str:
    if not isinstance(token, str):
        raise _Bad("expected an atom or a string")
    return token


def _folder(token: Token) -> str:
    """INBOX is case-insensitive (RFC 3501 5.1); other names are kept as sent."""
    name = _str(token).rstrip("/")
    if not name:
        raise _Bad("empty folder name")
    return "INBOX" if name.upper() == "INBOX" else name


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tokens(segments: list[bytes]) -> list[Token]:
    """Parse a command; `segments` alternate text and literal data, as read off the wire."""
    stack: list[list[Token]] = [[]]
    for i, segment in enumerate(segments):
        if i % 2:
            stack[-1].append(segment)
            continue
        text, pos = segment.rstrip(b" "), 0
        while pos < len(text):
            if not (found := _TOKEN.match(text, pos)):
                raise _Bad("unparsable command")
            pos = found.end()
            if found[1]:
                stack.append([])
            elif found[2] and len(stack) > 1:
                inner = stack.pop()
                stack[-1].append(inner)
            elif found[3] is not None:
                stack[-1].append(re.sub(rb'\\(["\\])', rb"\1", found[3]).decode())
            elif found[4]:
                stack[-1].append(found[4].decode("ascii"))
            else:
                raise _Bad("unbalanced parentheses")
    if len(stack) > 1:
        raise _Bad("unbalanced parentheses")
    return stack[0]


class _Reader:
    """Lines and literals from a client, buffered here: IDLE must select() on the socket,
    which the hidden buffer of a socket file object would defeat."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buf = sock, bytearray()

    def _fill(self) -> None:
        if not (data := self.sock.recv(1 << 16)):
            raise ConnectionError("client closed the connection")
        self.buf += data

    def line(self) -> bytes:
        while (end := self.buf.find(b"\n")) < 0:
            if len(self.buf) > MAX_LINE:
                raise ConnectionError("command line too long")
            self._fill()
        line = bytes(self.buf[:end]).removesuffix(b"\r")
        del self.buf[:end + 1]
        return line

    def exactly(self, size: int) -> bytes:
        while len(self.buf) < size:
            self._fill()
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def ready(self, timeout: float) -> bool:
        return bool(self.buf) or bool(select.select([self.sock], [], [], timeout)[0])


class _Session(socketserver.BaseRequestHandler):
    """One client. `view` is the UIDs it has been told of, in sequence-number order: it moves
    only as the client is told (EXISTS, EXPUNGE), so sequence numbers stay consistent."""

    request: socket.socket

    def setup(self) -> None:
        self.imap = cast(_Listener, self.server).imap
        self.reader, self.pending = _Reader(self.request), list[bytes]()
        self.user, self.folder, self.mailbox = "", "", dict[str, _Folder]()
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
        if not (tagged := _TAG.match(line)):
            self._send("* BAD no command tag")
            return
        tag, segments = tagged[1].decode(), [line]
        try:
            while literal := _LITERAL.search(segments[-1]):
                if int(literal[1]) > MAX_LITERAL:
                    raise _Bad("literal too large")
                segments[-1] = segments[-1][:literal.start()]
                self._send("+ ready for literal")
                self._flush()
                segments += [self.reader.exactly(int(literal[1])), self.reader.line()]
            name, *args = _tokens(segments)[1:] or [""]
            name = _str(name).upper()
            if name == "UID" and args:
                name, args = f"UID {_str(args[0]).upper()}", args[1:]
            if name not in _STATES:
                raise _Bad(f"unknown command {name[:40]}")
            state = {"*": True, "N": not self.user, "A": self.user, "S": self.folder}
            if not state[_STATES[name]]:
                raise _Bad(f"{name} is not allowed now")
            run = getattr(self, "_" + name.removeprefix("UID ").lower())
            text = run(args, name.startswith("UID ")) or f"{name} completed"
            if self.folder and not self.done and name not in _NO_EXPUNGE:
                self._sync(expunge=True)
            self._send(f"{tag} OK {text}")
        except _No as exc:
            self._send(f"{tag} NO {exc}")
        except (_Bad, ValueError, IndexError, KeyError) as exc:
            self._send(f"{tag} BAD {exc if isinstance(exc, _Bad) else 'malformed arguments'}")

    def _sync(self, expunge: bool) -> None:
        """Tell the client what changed in its folder since it last looked (RFC 3501 7.3, 7.4)."""
        with self.imap._lock:
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

    def _box(self, name: str, missing: str = "[NONEXISTENT]") -> _Folder:
        """A folder of the logged-in user; the caller holds the lock."""
        if name not in self.mailbox:
            raise _No(f"{missing} no folder {name}")
        return self.mailbox[name]

    def _targets(self, token: Token, uid: bool) -> list[tuple[int, int]]:
        """(sequence number, UID) of each message in the client's view that a set names."""
        if not _SEQSET.fullmatch(spec := _str(token)):
            raise _Bad("malformed sequence set")
        top = (self.view[-1] if uid else len(self.view)) if self.view else 0
        singles, spans = set[int](), list[tuple[int, int]]()
        for part in spec.split(","):
            low, _, high = part.partition(":")
            a, b = (top if x == "*" else int(x) for x in (low, high or low))
            if high:
                spans.append((min(a, b), max(a, b)))
            else:
                singles.add(a)
        return [(seq, u) for seq, u in enumerate(self.view, 1)
                if (key := u if uid else seq) in singles or any(x <= key <= y for x, y in spans)]

    def _capability(self, args: list[Token], uid: bool) -> None:
        self._send(f"* CAPABILITY {CAPABILITIES}")

    def _noop(self, args: list[Token], uid: bool) -> None:
        """Nothing to do: the sync after each command reports new and expunged mail."""

    def _logout(self, args: list[Token], uid: bool) -> None:
        self._send("* BYE logging out")
        self.done = True

    def _login(self, args: list[Token], uid: bool) -> None:
        user, password = map(_str, args)
        if self.imap._passwords.get(user) != password:
            raise _No("[AUTHENTICATIONFAILED] invalid user name or password")
        self.user, self.mailbox = user, self.imap._boxes[user]

    def _select(self, args: list[Token], uid: bool) -> str:
        name, self.folder, self.view = _folder(args[0]), "", []  # a failed SELECT deselects
        with self.imap._lock:
            box = self._box(name)
            self.view, self.known_next, validity = list(box.messages), box.uidnext, box.uidvalidity
        self.folder = name
        self._send(f"* FLAGS {_FLAGS}", f"* {len(self.view)} EXISTS", "* 0 RECENT",
                   f"* OK [UIDVALIDITY {validity}] UIDs valid",
                   f"* OK [UIDNEXT {self.known_next}] predicted next UID")
        return "[READ-WRITE] SELECT completed"

    def _create(self, args: list[Token], uid: bool) -> None:
        with self.imap._lock:
            if (name := _folder(args[0])) in self.mailbox:
                raise _No("[ALREADYEXISTS] folder exists")
            self.mailbox[name] = _Folder()

    def _list(self, args: list[Token], uid: bool) -> None:
        if not (pattern := _str(args[1])):  # RFC 3501 6.3.8: asks for the hierarchy delimiter
            self._send('* LIST (\\Noselect) "/" ""')
            return
        pattern = _str(args[0]) + pattern
        if pattern[:5].upper() == "INBOX":
            pattern = "INBOX" + pattern[5:]
        wildcards = {"*": ".*", "%": "[^/]*"}
        match = re.compile("".join(wildcards.get(c, re.escape(c)) for c in pattern)).fullmatch
        with self.imap._lock:
            names = sorted(filter(match, self.mailbox))
        self._send(*(f'* LIST () "/" {_quote(name)}' for name in names))

    def _status(self, args: list[Token], uid: bool) -> None:
        name, items = _folder(args[0]), args[1]
        if not isinstance(items, list):
            raise _Bad("STATUS takes a list of items")
        with self.imap._lock:
            box = self._box(name)
            values = {"MESSAGES": len(box.messages), "RECENT": 0, "UIDNEXT": box.uidnext,
                      "UIDVALIDITY": box.uidvalidity,
                      "UNSEEN": sum("\\Seen" not in m.flags for m in box.messages.values())}
        pairs = (f"{item} {values[item]}" for item in (_str(i).upper() for i in items))
        self._send(f"* STATUS {_quote(name)} ({' '.join(pairs)})")

    def _append(self, args: list[Token], uid: bool) -> None:
        """APPEND folder [(flags)] [date] literal; the date is not kept."""
        name, rest, flags = _folder(args[0]), args[1:], list[str]()
        if rest and isinstance(rest[0], list):
            flags, rest = [_str(f) for f in rest[0]], rest[1:]
        if len(rest) == 2 and isinstance(rest[0], str):
            rest.pop(0)
        if len(rest) != 1 or not isinstance(rest[0], bytes):
            raise _Bad("APPEND needs the message as a literal")
        with self.imap._lock:
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
            raise _Bad("expected DONE")
        return "IDLE terminated"

    def _search(self, args: list[Token], uid: bool) -> None:
        words = [_str(a).upper() for a in args]
        if (words[2:] if words[:1] == ["CHARSET"] else words) != ["ALL"]:
            raise _Bad("only SEARCH ALL is served")
        self._sync(expunge=False)
        with self.imap._lock:
            present = set(self.mailbox[self.folder].messages)
        hits = [str(u if uid else seq) for seq, u in enumerate(self.view, 1) if u in present]
        self._send(" ".join(["* SEARCH", *hits]))

    def _fetch(self, args: list[Token], uid: bool) -> None:
        """UID, FLAGS and size go before the body: mailbot reads the UID from the text ahead
        of the literal, and imap-tools expects the literal to end the response."""
        targets = self._targets(args[0], uid)
        items = {_str(t).upper() for t in (args[1] if isinstance(args[1], list) else args[1:])}
        if not items or not items <= _FETCH_ITEMS:
            raise _Bad("unsupported FETCH item")
        with self.imap._lock:
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
        targets, name = self._targets(args[0], uid), _folder(args[1])
        with self.imap._lock:
            source, target = self.mailbox[self.folder], self._box(name, "[TRYCREATE]")
            for _, u in targets:
                if (message := source.messages.pop(u, None)) is not None:
                    target.add(message.raw, message.flags)


class _Listener(socketserver.ThreadingTCPServer):
    """Accepts clients, a thread each, and keeps their sockets so stop() can cut them off."""

    def __init__(self, imap: EmbeddedImapServer) -> None:
        super().__init__((EmbeddedImapServer.host, 0), _Session)
        self.imap, self.clients, self.clients_lock = imap, set[Any](), threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.clients_lock:
            self.clients.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.clients_lock:
            self.clients.discard(request)
        super().shutdown_request(request)

    def cut_clients(self) -> None:
        with self.clients_lock:
            for sock in self.clients:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class EmbeddedImapServer:
    """Mailboxes in memory, each with an INBOX, served on 127.0.0.1 at an ephemeral `port`:
    `with EmbeddedImapServer({"feedback": "pw"}) as server:` serves until the block ends."""

    host = "127.0.0.1"

    def __init__(self, users: Mapping[str, str]) -> None:
        self._lock = threading.Lock()
        self._passwords = dict(users)
        self._boxes = {user: {"INBOX": _Folder()} for user in users}
        self._listener: _Listener | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the IMAP server is not running")
        return int(self._listener.server_address[1])

    def start(self) -> EmbeddedImapServer:
        if self._listener is None:
            self._listener = _Listener(self)
            self._thread = threading.Thread(target=self._listener.serve_forever, args=(0.05,),
                                            name=f"imap-server-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut every client off and wait for their threads; idempotent."""
        listener, self._listener = self._listener, None
        if listener is not None and self._thread is not None:
            listener.shutdown()  # serve_forever has returned: no client is accepted after this
            listener.cut_clients()  # their threads see end of file at once, even in IDLE
            listener.server_close()  # and are joined here
            self._thread.join()

    def __enter__(self) -> EmbeddedImapServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Drop a message in as a mail server would, creating the folder; returns its UID.
        Clients in IDLE on that folder hear of it within IDLE_SLICE seconds."""
        with self._lock:
            return self._boxes[user].setdefault(_folder(folder), _Folder()).add(raw)

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """A folder's messages, byte for byte, in UID order."""
        with self._lock:
            return [m.raw for m in self._boxes[user][_folder(folder)].messages.values()]

    def folders(self, user: str) -> list[str]:
        with self._lock:
            return sorted(self._boxes[user])
