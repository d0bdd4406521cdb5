"""An in-memory IMAP4rev1 server on 127.0.0.1, for `mailbot demo`.

The demo must run without root, network or configuration, so it cannot use Dovecot as the
tests do. This module is the part callers see: it starts and stops the listener and lets
the demo drop mail in and look at it. The mail and the commands served are in
imap_session, the IMAP syntax in imap_wire. One thread per client, as a handful of
clients on loopback need nothing cleverer.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import socketserver
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from mailbot.demo.imap_session import Folder, Mailstore, Session, folder_name


class _Listener(socketserver.ThreadingTCPServer):
    """Accepts clients, a thread each, and keeps their sockets so stop() can cut them off."""

    def __init__(self, host: str, store: Mailstore) -> None:
        super().__init__((host, 0), functools.partial(Session, store=store))
        self.clients, self.clients_lock = set[Any](), threading.Lock()

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
        self._store = Mailstore(users)
        self._running: tuple[_Listener, threading.Thread] | None = None

    @property
    def port(self) -> int:
        if self._running is None:
            raise RuntimeError("the IMAP server is not running")
        return int(self._running[0].server_address[1])

    def start(self) -> EmbeddedImapServer:
        if self._running is None:
            listener = _Listener(self.host, self._store)
            thread = threading.Thread(target=listener.serve_forever, args=(0.05,), daemon=True,
                                      name=f"imap-server-{listener.server_address[1]}")
            thread.start()
            self._running = listener, thread
        return self

    def stop(self) -> None:
        """Stop accepting, cut every client off and wait for their threads; idempotent."""
        running, self._running = self._running, None
        if running is not None:
            listener, thread = running
            listener.shutdown()  # serve_forever has returned: no client is accepted after this
            listener.cut_clients()  # their threads see end of file at once, even in IDLE
            listener.server_close()  # and are joined here
            thread.join()

    def __enter__(self) -> EmbeddedImapServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Drop a message in as a mail server would, creating the folder; returns its UID.
        Clients in IDLE on that folder hear of it within imap_session.IDLE_SLICE seconds."""
        with self._store.lock:
            return self._store.boxes[user].setdefault(folder_name(folder), Folder()).add(raw)

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """A folder's messages, byte for byte, in UID order."""
        with self._store.lock:
            return [m.raw for m in self._store.boxes[user][folder_name(folder)].messages.values()]

    def folders(self, user: str) -> list[str]:
        with self._store.lock:
            return sorted(self._store.boxes[user])
