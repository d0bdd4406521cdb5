"""The demo's embedded IMAP server, driven by mailbot's own ImapSource and by stdlib imaplib."""

from __future__ import annotations

import contextlib
import imaplib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from mailbot.adapters.imap_source import ImapSource
from mailbot.demo.imap_server import EmbeddedImapServer
from mailbot.services.ports import SourceError
from mailbot.settings import MailboxSettings

PASSWORD = "pw"
# 8-bit bytes that are not UTF-8, and text that looks like IMAP framing.
EIGHT_BIT = ("From: Zoë <zoe@example.org>\r\nSubject: Café\r\n\r\n£5 — froid\r\n".encode()
             + bytes(range(128, 256)) + b"\r\n* 1 FETCH (BODY[] {5}\r\n)\r\nA1 OK done\r\n")
LF_ONLY = b"From: a@example.org\nSubject: bare LF\n\nline one\nline two\r\nmixed\n"
BIG = b"From: b@example.org\r\nSubject: big\r\n\r\n" + b"".join(
    b"%07d %s\r\n" % (i, b"x" * 70) for i in range(13_000))  # about 1 MB


@pytest.fixture
def server() -> Iterator[EmbeddedImapServer]:
    with EmbeddedImapServer({"feedback": PASSWORD, "casework": PASSWORD}) as running:
        yield running


def source(server: EmbeddedImapServer, user: str = "feedback",
           password: str = PASSWORD, port: int | None = None) -> ImapSource:
    settings = MailboxSettings(
        name=user, role="feedback", address=f"{user}@council.example", host=server.host,
        port=port or server.port, security="none", username=user, password_env=None, folder="INBOX",
        poll_interval=30)
    return ImapSource(settings, password)


def connect(server: EmbeddedImapServer, user: str = "feedback") -> imaplib.IMAP4:
    imap = imaplib.IMAP4(server.host, server.port, timeout=10)
    imap.login(user, PASSWORD)
    return imap


def test_wrong_password_is_refused(server: EmbeddedImapServer) -> None:
    with pytest.raises(SourceError, match="AUTHENTICATIONFAILED"), source(server, password="no"):
        pass
    with imaplib.IMAP4(server.host, server.port, timeout=10) as imap:
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("nobody", PASSWORD)
        assert imap.login("casework", PASSWORD)[0] == "OK"  # the connection is still usable


def test_folders_are_created_once_and_uidvalidity_is_stable(server: EmbeddedImapServer) -> None:
    with source(server) as first:
        validity = first.uidvalidity()
    assert server.folders("feedback") == ["INBOX", "Processed", "Quarantine"]
    assert server.folders("casework") == ["INBOX"]
    with source(server) as second:  # the folders exist now: LIST finds them, no CREATE
        assert second.uidvalidity() == validity
    with connect(server) as imap:
        assert imap.create('"Processed"') == ("NO", [b"[ALREADYEXISTS] folder exists"])


def test_fetch_returns_the_delivered_bytes(server: EmbeddedImapServer) -> None:
    raws = [EIGHT_BIT, LF_ONLY, BIG]
    uids = [server.deliver("feedback", raw) for raw in raws]
    with source(server) as box:
        assert box.pending() == uids
        assert dict(box.fetch(uids)) == dict(zip(uids, raws, strict=True))  # one bulk FETCH
        for uid, raw in zip(uids, raws, strict=True):
            assert list(box.fetch([uid])) == [(uid, raw)]
    with connect(server) as imap:  # BODY.PEEK[] left them unseen
        assert imap.status("INBOX", "(UNSEEN)")[1][0] == b'"INBOX" (UNSEEN 3)'


def test_append_over_imaplib_is_kept(server: EmbeddedImapServer) -> None:
    with connect(server, "casework") as imap:
        imap.create('"Sent Items"')
        assert imap.append('"Sent Items"', "(\\Seen)", None, EIGHT_BIT)[0] == "OK"
        refused = imap.append("Nowhere", None, None, EIGHT_BIT)
        assert refused == ("NO", [b"[TRYCREATE] no folder Nowhere"])
        imap.select('"Sent Items"')
        fetched = imap.uid("FETCH", "1", "(FLAGS BODY[])")
    assert server.messages("casework", "Sent Items") == [EIGHT_BIT]
    assert fetched[1][0] == (b"1 (UID 1 FLAGS (\\Seen) BODY[] {%d}" % len(EIGHT_BIT), EIGHT_BIT)


def test_move_files_messages_away_from_the_inbox(server: EmbeddedImapServer) -> None:
    uids = [server.deliver("feedback", raw) for raw in (EIGHT_BIT, LF_ONLY, BIG)]
    with source(server) as box:
        box.move(uids[:2], quarantine=False)
        assert box.pending() == uids[2:]
        box.move(uids[2:], quarantine=True)
        assert box.pending() == []
    assert server.messages("feedback", "Processed") == [EIGHT_BIT, LF_ONLY]
    assert server.messages("feedback", "Quarantine") == [BIG]
    assert server.messages("feedback") == []


def test_idle_wakes_promptly_on_delivery(server: EmbeddedImapServer) -> None:
    delivered: list[float] = []

    def deliver() -> None:
        time.sleep(0.3)
        delivered.append(time.monotonic())
        server.deliver("feedback", LF_ONLY)

    with source(server) as box:
        assert box.pending() == []
        thread = threading.Thread(target=deliver)
        thread.start()
        box.wait_for_mail(threading.Event())  # poll_interval is 30 s: only IDLE returns early
        assert time.monotonic() - delivered[0] < 1.0
        assert box.pending() == [1]
        thread.join()


class JoiningProxy:
    """Passes one connection through, except that it holds IDLE's "+" back until the
    server's next line and sends both in one packet, as a server may: the notice is then
    in the client's read buffer before the client ever polls its socket."""

    def __init__(self, server: EmbeddedImapServer) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.upstream = (server.host, server.port)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        client, _ = self.listener.accept()
        upstream = socket.create_connection(self.upstream)
        threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
        self._pump(upstream, client, True)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, join: bool) -> None:
        held = b""
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                data, held = held + data, b""
                if join and data.endswith(b"+ idling\r\n"):
                    held = data
                else:
                    target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_RDWR)


def test_a_notice_sent_with_idles_continuation_wakes_at_once(
        server: EmbeddedImapServer) -> None:
    proxy = JoiningProxy(server)
    with source(server, port=proxy.port) as box:
        assert box.pending() == []
        threading.Timer(0.3, server.deliver, args=("feedback", LF_ONLY)).start()
        started = time.monotonic()
        box.wait_for_mail(threading.Event())  # poll_interval is 30 s
        assert time.monotonic() - started < 1.5
        assert box.pending() == [1]


def test_two_clients_at_once(server: EmbeddedImapServer) -> None:
    woke: dict[str, float] = {}
    pending: dict[str, list[int]] = {}

    def wait(user: str) -> None:
        with source(server, user) as box:
            ready.wait()
            box.wait_for_mail(threading.Event())
            woke[user] = time.monotonic()
            pending[user] = box.pending()

    ready = threading.Barrier(3)
    threads = [threading.Thread(target=wait, args=(user,)) for user in ("feedback", "casework")]
    for thread in threads:
        thread.start()
    ready.wait()
    time.sleep(0.2)  # both are in IDLE by now
    with connect(server) as imap:  # and a third client, on the same mailbox
        imap.append("INBOX", None, None, LF_ONLY)
    server.deliver("casework", EIGHT_BIT)
    sent = time.monotonic()
    for thread in threads:
        thread.join(timeout=5)
    assert pending == {"feedback": [1], "casework": [1]}
    assert max(woke.values()) - sent < 1.0


def test_a_moved_message_is_expunged_for_another_client(server: EmbeddedImapServer) -> None:
    server.deliver("feedback", LF_ONLY)
    with source(server) as mover, connect(server) as watcher:
        watcher.select("INBOX")
        mover.move([1], quarantine=False)
        assert watcher.noop() == ("OK", [b"NOOP completed"])
        assert watcher.response("EXPUNGE") == ("EXPUNGE", [b"1"])
        assert watcher.uid("SEARCH", "ALL") == ("OK", [b""])


def test_garbage_gets_bad_and_the_connection_carries_on(server: EmbeddedImapServer) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"* OK")
        for line, answer in [(b"\xff\xfe", b"* BAD"), (b"a1 FROBNICATE", b"a1 BAD"),
                             (b'a2 LOGIN "unterminated', b"a2 BAD"), (b"a3 (", b"a3 BAD"),
                             (b"a4 FETCH 1 (BODY[])", b"a4 BAD"),  # not logged in
                             (b"a5 LOGIN feedback pw", b"a5 OK"),
                             (b"a6 UID FETCH x:y (UID)", b"a6 BAD"),  # nothing selected
                             (b"a7 SELECT INBOX", b"* FLAGS"),
                             (b"a8 UID FETCH 1:* (ENVELOPE)", b"a8 BAD"),
                             (b"a9 SEARCH UNSEEN", b"a9 BAD"), (b"b1 NOOP", b"b1 OK")]:
            sock.sendall(line + b"\r\n")
            assert reader.readline().startswith(answer), line
            while answer == b"* FLAGS" and not reader.readline().startswith(b"a7 OK"):
                pass
    with connect(server) as imap:
        with pytest.raises(imaplib.IMAP4.error, match="unknown command"):
            imap.xatom("XYZZY")
        assert imap.noop()[0] == "OK"


def test_a_client_gone_mid_command_harms_no_one(server: EmbeddedImapServer) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(b"a1 LOGIN feedback pw\r\na2 APPEND INBOX {1000}\r\n")
        assert reader.readline().startswith(b"a1 OK")
        assert reader.readline().startswith(b"+")
        sock.sendall(b"only part of it")
    with source(server) as box:
        assert box.pending() == []


def test_stop_with_clients_connected_is_prompt() -> None:
    server = EmbeddedImapServer({"feedback": PASSWORD}).start()
    outcome: list[BaseException | None] = []

    def idle() -> None:
        try:
            with source(server) as box:
                box.wait_for_mail(threading.Event())
            outcome.append(None)
        except SourceError as exc:
            outcome.append(exc)

    before = set(threading.enumerate())
    idler = threading.Thread(target=idle)
    idler.start()
    imap = connect(server)
    time.sleep(0.3)  # in IDLE by now
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    idler.join(timeout=2)
    assert not idler.is_alive() and isinstance(outcome[0], SourceError)
    assert set(threading.enumerate()) <= before | {idler}
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        imap.noop()
    with contextlib.suppress(OSError):
        imap.shutdown()
    server.stop()  # idempotent
