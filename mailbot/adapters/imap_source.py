"""One polled IMAP mailbox, through imap-tools.

Messages are fetched byte for byte (BODY.PEEK[], so nothing is marked read and nothing is
re-serialised) and, once handled, moved to the Processed or Quarantine folder; nothing is
ever deleted. The server's IDLE is used where it offers it.
"""

from __future__ import annotations

import contextlib
import imaplib
import io
import re
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, cast

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError
from imap_tools.message import MailMessage

from mailbot.services.ports import SourceError
from mailbot.settings import MailboxSettings

TIMEOUT = 60.0
IDLE_REFRESH = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
_UID = re.compile(rb"UID (\d+)")


class RawMessage:
    """What imap-tools yields for a fetch, kept as raw bytes: intake parses it once."""

    def __init__(self, fetch_data: list[Any]) -> None:
        raw, uid_data, rest = MailMessage._get_message_data_parts(fetch_data)
        # RFC 3501 lets the server put UID after the literal (Exchange and mail.ru do).
        found = next(filter(None, (_UID.search(part) for part in [uid_data, *rest])), None)
        self.raw: bytes = raw
        self.uid: int = int(found.group(1)) if found else 0


def _refresh_capabilities(box: BaseMailBox) -> None:
    """imaplib keeps the capabilities it was told before login; many servers announce IDLE
    and MOVE only after it, and without this we would poll instead of IDLE."""
    typ, data = box.client.capability()
    if typ == "OK" and data and data[-1]:
        box.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def _announced(client: imaplib.IMAP4) -> bool:
    """Whether the server told of new mail in the reply to a command since the pass began.

    imaplib files such news away with the reply; a server that has told us does not tell
    us again when IDLE starts, so without this look the mail would wait for the polling
    interval. The news counts once."""
    news = [client.untagged_responses.pop(kind, None) for kind in ("EXISTS", "RECENT")]
    return any(news)


def _unread(client: imaplib.IMAP4) -> bool:
    """Whether a response already waits in imaplib's read buffer, where polling the socket
    cannot see it: a server may send its first IDLE notice in the same packet as the "+"."""
    sock = client.sock
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        return bool(cast(io.BufferedReader, client.file).peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(timeout)


def _close(box: BaseMailBox) -> None:
    """Log out if the server still listens; close the socket whatever happened (a dead
    connection cannot log out, and imaplib then leaves its socket open)."""
    with contextlib.suppress(Exception):
        box.logout()
    with contextlib.suppress(Exception):
        box.client.shutdown()


# What a lost connection, a refused login or a server error looks like from imaplib.
NETWORK_ERRORS = (imaplib.IMAP4.error, ImapToolsError, OSError, EOFError, ssl.SSLError)


class ImapSource:
    """A connection to one mailbox; use it as a context manager."""

    def __init__(self, settings: MailboxSettings, password: str | None) -> None:
        self.settings = settings
        self.name = settings.name
        self.password = password
        self._box: BaseMailBox | None = None

    def __enter__(self) -> ImapSource:
        s = self.settings
        box: BaseMailBox | None = None
        try:
            if s.security == "tls":
                box = MailBox(s.host, s.port, timeout=TIMEOUT)
            elif s.security == "starttls":
                box = MailBoxStartTls(s.host, s.port, timeout=TIMEOUT)
            else:
                box = MailBoxUnencrypted(s.host, s.port, timeout=TIMEOUT)
            box.email_message_class = RawMessage  # type: ignore[assignment]
            box.login(s.username or s.address, self.password or "", initial_folder=None)
            _refresh_capabilities(box)
            for folder in (s.processed_folder, s.quarantine_folder):
                if not box.folder.exists(folder):
                    box.folder.create(folder)
            box.folder.set(s.folder)
            box.client.untagged_responses.clear()  # SELECT's counts are not news
        except NETWORK_ERRORS as exc:
            if box is not None:
                _close(box)  # a refused login must not leave the socket open
            raise SourceError(f"mailbox {self.name} ({s.host}:{s.port}): {exc}") from None
        self._box = box
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        box, self._box = self._box, None
        if box is not None:
            _close(box)

    @property
    def box(self) -> BaseMailBox:
        if self._box is None:
            raise SourceError(f"mailbox {self.name} is not connected")
        return self._box

    def _call(self, what: str, action: Any) -> Any:
        try:
            return action()
        except NETWORK_ERRORS as exc:
            raise SourceError(f"mailbox {self.name}: {what}: {exc}") from None

    def uidvalidity(self) -> int:
        status = self._call("STATUS", lambda: self.box.folder.status(
            self.settings.folder, ["UIDVALIDITY"]))
        return int(status["UIDVALIDITY"])

    def pending(self) -> list[int]:
        """Every message still in the folder: handled ones have been moved out. What the
        server announced before this search is answered by it."""
        self.box.client.untagged_responses.clear()
        return sorted(int(u) for u in self._call("SEARCH", lambda: self.box.uids("ALL")))

    def fetch(self, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        messages = self._call("FETCH", lambda: list(self.box.fetch(
            uid_list=[str(u) for u in uids], mark_seen=False, bulk=len(uids) > 1)))
        for message in messages:
            # A bulk FETCH interleaved with an unsolicited response can yield an item with
            # no UID or no body; the message itself is simply fetched on the next pass.
            if message.uid and message.raw:
                yield message.uid, message.raw

    def move(self, uids: Sequence[int], quarantine: bool) -> None:
        if uids:
            folder = self.settings.quarantine_folder if quarantine \
                else self.settings.processed_folder
            self._call("MOVE", lambda: self.box.move([str(u) for u in uids], folder))

    def wait_for_mail(self, stop: threading.Event) -> None:
        """Until new mail, `stop`, or the polling interval: IDLE where offered, else sleep."""
        client = self.box.client
        if _announced(client):
            return
        if not (self.settings.idle and "IDLE" in client.capabilities):
            stop.wait(self.settings.poll_interval)
            return
        # Even with IDLE, look again every polling interval: a safety net for servers that
        # forget to notify.
        deadline = time.monotonic() + min(IDLE_REFRESH, self.settings.poll_interval)
        self._call("IDLE", self.box.idle.start)
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                started = time.monotonic()
                if _unread(client) or self._call("IDLE", lambda: self.box.idle.poll(timeout=1.0)):
                    return
                if time.monotonic() - started < 0.5:
                    # imap-tools answers a closed connection with an empty poll at once.
                    raise SourceError(f"mailbox {self.name}: connection lost during IDLE")
        finally:
            with contextlib.suppress(SourceError):
                self._call("IDLE DONE", self.box.idle.stop)
