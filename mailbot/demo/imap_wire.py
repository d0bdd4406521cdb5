"""IMAP4rev1 syntax for the demo's IMAP server: bytes off the wire into tokens, and back.

Kept apart from the commands so that the session reads as what each command does, and so
that the one subtle part of the protocol, literals, is handled in one place: a literal's
length ends its line, the client waits for a continuation before sending the data, and the
data is kept as the exact bytes sent (a message need not be UTF-8, nor free of text that
looks like IMAP framing).
"""

from __future__ import annotations

import re
import select
import socket
from collections.abc import Callable
from typing import TypeAlias

MAX_LINE, MAX_LITERAL = 64 * 1024, 64 * 1024 * 1024  # so a broken client cannot eat memory
TAG = re.compile(rb'([^\x00-\x20(){%*"\\+\x7f-\xff]+) ')
_LITERAL = re.compile(rb"\{(\d+)\}$")
_TOKEN = re.compile(rb' *(?:(\()|(\))|"((?:[^"\\\r\n]|\\["\\])*)"|([^ ()"{\r\n]+))')
_SEQSET = re.compile(r"(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*")

# An atom or quoted string as text, a literal as the bytes sent, a parenthesised list.
Token: TypeAlias = "str | bytes | list[Token]"


class Bad(Exception):
    """A command that cannot be parsed or is not served: BAD, and the connection carries on."""


def text(token: Token) -> str:
    """An atom or quoted string: where a command wants text, a list or a literal is BAD."""
    if not isinstance(token, str):
        raise Bad("expected an atom or a string")
    return token


def quote(value: str) -> str:
    """A quoted string, so folder names with spaces or quotes survive the trip to the client."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sequence_set(token: Token, top: int) -> Callable[[int], bool]:
    """Whether a number is in a sequence set such as `1:3,7,9:*` (RFC 3501 9); `*` is `top`,
    the highest number in use. A test rather than a list, as `1:*` may span many UIDs."""
    if not _SEQSET.fullmatch(spec := text(token)):
        raise Bad("malformed sequence set")
    singles, spans = set[int](), list[tuple[int, int]]()
    for part in spec.split(","):
        low, _, high = part.partition(":")
        a, b = (top if x == "*" else int(x) for x in (low, high or low))
        if high:
            spans.append((min(a, b), max(a, b)))
        else:
            singles.add(a)
    return lambda key: key in singles or any(x <= key <= y for x, y in spans)


def _parse(segments: list[bytes]) -> list[Token]:
    """Parse a command; `segments` alternate text and literal data, as read off the wire."""
    stack: list[list[Token]] = [[]]
    for i, segment in enumerate(segments):
        if i % 2:
            stack[-1].append(segment)
            continue
        line, pos = segment.rstrip(b" "), 0
        while pos < len(line):
            if not (found := _TOKEN.match(line, pos)):
                raise Bad("unparsable command")
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
                raise Bad("unbalanced parentheses")
    if len(stack) > 1:
        raise Bad("unbalanced parentheses")
    return stack[0]


class Reader:
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

    def _exactly(self, size: int) -> bytes:
        while len(self.buf) < size:
            self._fill()
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def command(self, line: bytes) -> list[Token]:
        """The tokens of the command that `line` starts, reading its literals. Each is asked
        for with a continuation, which the client waits for (RFC 3501 7.5); nothing else is
        due to the client mid-command, so it goes straight to the socket."""
        segments = [line]
        while literal := _LITERAL.search(segments[-1]):
            if (size := int(literal[1])) > MAX_LITERAL:
                raise Bad("literal too large")
            segments[-1] = segments[-1][:literal.start()]
            self.sock.sendall(b"+ ready for literal\r\n")
            segments += [self._exactly(size), self.line()]
        return _parse(segments)

    def ready(self, timeout: float) -> bool:
        """Whether the client has sent more within `timeout` seconds: how IDLE waits."""
        return bool(self.buf) or bool(select.select([self.sock], [], [], timeout)[0])
