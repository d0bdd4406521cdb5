"""A real Dovecot IMAP server on 127.0.0.1 for the tests, one per fixture, from a temporary directory.

Why a real server: what the poller must survive (IDLE, a changed UIDVALIDITY, a restart
mid-poll, a 5,000-message backlog) is defined by a real server's answers, not a fake's.
Needs Debian's dovecot-imapd (it pulls in dovecot-core). The package's /etc/dovecot is never
read: `dovecot -c` gets the self-contained file written here, every path (sockets, state, log,
mail) is under base_dir, and the port is a free one, so a system dovecot on 143 does not matter.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

PASSWORD = "secret"
USERS = ("feedback", "casework", "other")

CONFIG = """\
# Written by tests/imapserver.py. Self-contained: nothing is included from /etc/dovecot.
protocols = imap
listen = 127.0.0.1
base_dir = {run}
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_login_user = {login_user}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quote(folder: str) -> str:
    """imaplib sends mailbox names as they are; quote them so names with spaces work."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DovecotServer:
    """Dovecot 2.3 run by the tests as the user they run as (root in CI), users PLAIN/`secret`.

    Mail is Maildir++ at base_dir/mail/<user>/Maildir: INBOX is that directory itself and
    folder "A/B" is its ".A.B" (the IMAP separator is "/").
    """

    def __init__(self, base_dir: Path, users: Iterable[str] = USERS) -> None:
        self.base_dir = base_dir.resolve()
        self.host = "127.0.0.1"
        self.port = 0  # chosen by the first start(), kept by restart()
        self.users: dict[str, str] = {user: PASSWORD for user in users}
        self._proc: subprocess.Popen[bytes] | None = None
        self._seq = 0

    # --- life cycle -------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        """Write the config and run `dovecot -F` in the foreground, so the process is ours."""
        if self._proc is not None:
            return
        self.port = self.port or _free_port()
        run = self.base_dir / "run"
        # Unix socket paths are limited to 107 bytes; a deep pytest tmp_path can exceed that.
        if len(str(run)) > 60:
            run = Path(tempfile.mkdtemp(prefix="dovecot-"))
        for d in (run, self.base_dir / "state", self.base_dir / "mail"):
            d.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "passwd").write_text(
            "".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items()))
        uid, gid = os.getuid(), os.getgid()
        me = pwd.getpwuid(uid).pw_name
        conf = self.base_dir / "dovecot.conf"
        conf.write_text(CONFIG.format(
            run=run, base=self.base_dir, port=self.port, uid=uid, gid=gid,
            # As root, the package's unprivileged users (made by dovecot-core's postinst).
            internal_user="dovecot" if uid == 0 else me,
            login_user="dovenull" if uid == 0 else me))
        dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
        log = (self.base_dir / "dovecot.stderr").open("ab")
        self._proc = subprocess.Popen([dovecot, "-F", "-c", str(conf)], stdout=log, stderr=log,
                                      stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                self._proc = None
                raise RuntimeError(f"dovecot exited at start: {self.log()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(200).startswith(b"* OK"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"dovecot gave no greeting: {self.log()[-2000:]}") from None
                time.sleep(0.05)
        if b"IDLE" not in self.capabilities():
            raise RuntimeError("dovecot does not offer IDLE")

    def stop(self) -> None:
        """SIGTERM the master, which ends its imap processes too (clients see a dropped link)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        """Stop and start again on the same port (the listener sets SO_REUSEADDR)."""
        self.stop()
        self.start()

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        """Dovecot's own log plus anything it printed before opening it."""
        parts = [self.base_dir / "dovecot.stderr", self.base_dir / "dovecot.log"]
        return "".join(p.read_text(errors="replace") for p in parts if p.exists())

    # --- IMAP helpers -----------------------------------------------------------------------

    def connect(self, user: str) -> imaplib.IMAP4:
        """A logged-in imaplib connection; the caller logs out."""
        imap = imaplib.IMAP4(self.host, self.port, timeout=30)
        imap.login(user, self.users[user])
        return imap

    def capabilities(self) -> set[bytes]:
        with imaplib.IMAP4(self.host, self.port, timeout=10) as imap:
            return {c.encode() for c in imap.capabilities}

    def _ensure(self, imap: imaplib.IMAP4, folder: str) -> None:
        if folder.upper() != "INBOX":
            imap.create(_quote(folder))  # NO [ALREADYEXISTS] is fine

    def append(self, user: str, folder: str, raw: bytes) -> int:
        """APPEND one message (creating the folder); returns its UID from APPENDUID."""
        with self.connect(user) as imap:
            self._ensure(imap, folder)
            typ, data = imap.append(_quote(folder), None, None, raw)
            assert typ == "OK", data
            match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert match, data
            return int(match.group(1))

    def append_many(self, user: str, folder: str, raws: Iterable[bytes]) -> list[int]:
        """Deliver many messages fast by writing them straight into the folder's Maildir.

        This is Maildir's own delivery protocol (write in tmp/, rename into new/), safe while
        the server runs. File names carry increasing timestamps because Dovecot gives new
        files UIDs sorted by that timestamp, so UIDs follow the order of `raws`. A STATUS at
        the end makes Dovecot assign the UIDs (without taking \\Recent); returns them.
        """
        raws = list(raws)
        before = set(self.folder_uids(user, folder))  # also creates the folder and its Maildir
        path = self.maildir(user, folder)
        first = int(time.time()) - len(raws)
        for i, raw in enumerate(raws):
            self._seq += 1
            name = f"{first + i}.M{self._seq}P{os.getpid()}.mailbot-test,S={len(raw)}"
            (path / "tmp" / name).write_bytes(raw)
            os.rename(path / "tmp" / name, path / "new" / name)
        with self.connect(user) as imap:
            imap.status(_quote(folder), "(MESSAGES UIDNEXT)")
        return [u for u in self.folder_uids(user, folder) if u not in before]

    def folder_uids(self, user: str, folder: str) -> list[int]:
        """All UIDs in the folder (EXAMINE, so nothing is flagged \\Seen or loses \\Recent)."""
        with self.connect(user) as imap:
            self._ensure(imap, folder)
            typ, data = imap.select(_quote(folder), readonly=True)
            assert typ == "OK", data
            typ, data = imap.uid("SEARCH", "ALL")
            assert typ == "OK", data
            return sorted(int(u) for u in (data[0] or b"").split())

    def uidvalidity(self, user: str, folder: str) -> int:
        with self.connect(user) as imap:
            typ, data = imap.status(_quote(folder), "(UIDVALIDITY)")
            assert typ == "OK", data
            match = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
            assert match, data
            return int(match.group(1))

    def maildir(self, user: str, folder: str) -> Path:
        root = self.base_dir / "mail" / user / "Maildir"
        return root if folder.upper() == "INBOX" else root / ("." + folder.replace("/", "."))

    def change_uidvalidity(self, user: str, folder: str) -> int:
        """Make the server report a new UIDVALIDITY for a folder that keeps its messages.

        As a server that lost its indexes does: stop, delete the folder's dovecot-uidlist and
        index files (and the user's mailbox-list index, which caches UIDVALIDITY), start on the
        same port. Dovecot then numbers the messages afresh under a new UIDVALIDITY (taken from
        its per-user dovecot-uidvalidity counter, so never the old one). Returns the new value.
        """
        old = self.uidvalidity(user, folder)
        self.stop()
        path, root = self.maildir(user, folder), self.maildir(user, "INBOX")
        for pattern in ("dovecot-uidlist", "dovecot.index*", "dovecot.list.index*"):
            for f in [*path.glob(pattern), *root.glob("dovecot.list.index*")]:
                f.unlink(missing_ok=True)
        self.start()
        new = self.uidvalidity(user, folder)
        if new == old:
            raise RuntimeError(f"UIDVALIDITY of {user}/{folder} stayed {old}")
        return new
