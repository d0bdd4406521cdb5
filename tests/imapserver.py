"""A real Dovecot IMAP server on 127.0.0.1 for the tests, started by a fixture, not by systemd.

Why a real server: what the poller must survive (IDLE, a changed UIDVALIDITY, a restart
mid-poll, a 5,000-message backlog) is defined by a real server's answers, not a fake's.
Needs root and Debian's dovecot-imapd (which pulls in dovecot-core). /etc/dovecot is never
read: `dovecot -c` gets the self-contained file written here, on a free port, so a system
dovecot on 143 does not matter. Use: `with DovecotServer(tmp_path) as server: yield server`.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path

PASSWORD = "secret"
USERS = ("feedback", "casework", "other")

# dovecot/dovenull are made by dovecot-core's postinst; `mail` (uid 8) is Debian's base-passwd.
CONFIG = """\
# Written by tests/imapserver.py. Self-contained: nothing is included from /etc/dovecot.
protocols = imap
listen = 127.0.0.1
base_dir = {ext}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = no  # and so no imaps listener on 993
disable_plaintext_auth = no
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = home={ext}/mail/%u allow_all_users=yes
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
# Auth as root, to read base_dir/passwd inside pytest's tmp_path (mode 0700).
service auth {{
  user = root
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _quote(folder: str) -> str:
    """imaplib sends mailbox names as they are; quote them so names with spaces work."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DovecotServer:
    """Dovecot 2.3 on 127.0.0.1:<free port>; `.users` maps each user to "secret" (PLAIN).

    base_dir gets dovecot.conf, passwd, dovecot.log, state/. Dovecot never touches mail as
    root, so the mail is Debian's `mail` user's, and must sit where that user can reach it,
    which the 0700 tmp_path is not: mail and sockets live in a directory of their own,
    /dev/shm/dovecot-* (else /tmp/...; short, as socket paths must be), linked as
    base_dir/mail, and removed by cleanup().
    Mail is Maildir++: INBOX is mail/<user>/Maildir itself, folder "A/B" is its ".A.B".
    """

    def __init__(self, base_dir: Path, users: Iterable[str] = USERS) -> None:
        if os.getuid() != 0:
            raise RuntimeError("DovecotServer needs root: Dovecot switches users")
        self.base_dir = base_dir.resolve()
        self.host, self.port = "127.0.0.1", 0  # port: chosen by the first start(), then kept
        self.users: dict[str, str] = {user: PASSWORD for user in users}
        self.mail_user = pwd.getpwnam("mail")
        # tmpfs if any: writing 5,000 Maildir files took 1.5-4.5 s on this VM's ext4, ~0.15 s there.
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        ext = Path(tempfile.mkdtemp(prefix="dovecot-", dir=shm))
        ext.chmod(0o755)
        self.mail_root = ext / "mail"
        self.mail_root.mkdir()
        os.chown(self.mail_root, self.mail_user.pw_uid, self.mail_user.pw_gid)
        self._ext, self._seq = ext, 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()  # a test may restart() from another thread mid-poll
        self._rmtree = weakref.finalize(self, shutil.rmtree, ext, True)

    def start(self, timeout: float = 15.0) -> None:
        """Write the config, run `dovecot -F` in a session of its own, await the greeting."""
        with self._lock:
            if self._proc is not None:
                return
            self.port = self.port or _free_port()
            (self.base_dir / "state").mkdir(parents=True, exist_ok=True)
            if not (self.base_dir / "mail").is_symlink():
                (self.base_dir / "mail").symlink_to(self.mail_root)
            (self.base_dir / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}\n"
                                                          for u, p in self.users.items()))
            conf = self.base_dir / "dovecot.conf"
            conf.write_text(CONFIG.format(ext=self._ext, base=self.base_dir, port=self.port,
                                          uid=self.mail_user.pw_uid, gid=self.mail_user.pw_gid))
            with (self.base_dir / "dovecot.stderr").open("ab") as out:
                self._proc = subprocess.Popen(
                    ["dovecot", "-F", "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=out,
                    stderr=out, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                    start_new_session=True)
            # Should no one stop() it, its session would outlive the tests: end it on exit or GC.
            self._reaper = weakref.finalize(self, _kill_group, self._proc.pid)
            deadline = time.monotonic() + timeout
            while True:
                if self._proc.poll() is not None:
                    self._proc = None
                    raise RuntimeError(f"dovecot exited at start:\n{self.log()[-2000:]}")
                with contextlib.suppress(OSError), socket.create_connection(
                        (self.host, self.port), timeout=1) as s:
                    if s.recv(200).startswith(b"* OK"):
                        break
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"dovecot gave no IMAP greeting:\n{self.log()[-2000:]}")
                time.sleep(0.05)
            if b"IDLE" not in self.capabilities():
                raise RuntimeError("dovecot does not offer IDLE")

    def stop(self) -> None:
        """SIGTERM Dovecot's whole process group, then SIGKILL what is left after 0.3 s.

        SIGTERM reaches every imap process, which says "* BYE" and exits at once; to the
        master alone it would leave them serving clients ~10 s, and the master itself at times
        sleeps 1 s or more in its shutdown, hence the SIGKILL. The group is Dovecot's only
        (start_new_session), and the master is reaped only after the SIGKILL, so its pid,
        the group's id, cannot have been reused. Idempotent.
        """
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 0.3
            while (os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None
                   and time.monotonic() < deadline):
                time.sleep(0.01)
            _kill_group(proc.pid)
            self._reaper.detach()
            proc.wait()

    def restart(self) -> None:
        """Stop and start again on the same port (Dovecot's listener sets SO_REUSEADDR)."""
        with self._lock:  # reentrant; a concurrent start() or stop() waits for both
            self.stop()
            self.start()

    def cleanup(self) -> None:
        """Stop, and remove the mail and socket directory outside base_dir."""
        self.stop()
        (self.base_dir / "mail").unlink(missing_ok=True)
        self._rmtree()

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def log(self) -> str:
        """What Dovecot printed before opening its log, then the log."""
        parts = [self.base_dir / "dovecot.stderr", self.base_dir / "dovecot.log"]
        return "".join(p.read_text(errors="replace") for p in parts if p.exists())

    def connect(self, user: str) -> imaplib.IMAP4:
        """A logged-in imaplib connection; the caller logs out (it is a context manager)."""
        imap = imaplib.IMAP4(self.host, self.port, timeout=30)
        imap.login(user, self.users[user])
        return imap

    def capabilities(self) -> set[bytes]:
        with imaplib.IMAP4(self.host, self.port, timeout=10) as imap:
            return {c.encode() for c in imap.capabilities}

    def append(self, user: str, folder: str, raw: bytes) -> int:
        """APPEND one message over IMAP (creating the folder); returns its UID (APPENDUID)."""
        with self.connect(user) as imap:
            imap.create(_quote(folder))  # NO [ALREADYEXISTS] is fine
            typ, data = imap.append(_quote(folder), None, None, raw)
            match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert typ == "OK" and match, data
            return int(match.group(1))

    def append_many(self, user: str, folder: str, raws: Iterable[bytes]) -> list[int]:
        """Deliver a backlog fast by writing it straight into the folder's Maildir.

        Maildir's own delivery protocol (write in tmp/, rename into new/), safe while the
        server runs and seen by IDLE. Names carry increasing timestamps as Dovecot numbers
        new files in timestamp order, so UIDs follow `raws`. A STATUS then makes Dovecot
        assign them now (leaving them \\Recent, as SELECT would not); returns the new UIDs.
        """
        raws = list(raws)
        before = set(self.folder_uids(user, folder))  # also creates the folder's Maildir
        path, uid, gid = self.maildir(user, folder), self.mail_user.pw_uid, self.mail_user.pw_gid
        first = int(time.time()) - len(raws)
        for i, raw in enumerate(raws):
            self._seq += 1
            name = f"{first + i}.M{self._seq}P{os.getpid()}.mailbot-test,S={len(raw)}"
            fd = os.open(path / "tmp" / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.fchown(fd, uid, gid)
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
            os.rename(path / "tmp" / name, path / "new" / name)
        with self.connect(user) as imap:
            imap.status(_quote(folder), "(MESSAGES UIDNEXT)")
        return [u for u in self.folder_uids(user, folder) if u not in before]

    def folder_uids(self, user: str, folder: str) -> list[int]:
        """The folder's UIDs, creating it if missing (EXAMINE: no flag changes)."""
        with self.connect(user) as imap:
            imap.create(_quote(folder))
            typ, data = imap.select(_quote(folder), readonly=True)
            assert typ == "OK", data
            typ, data = imap.uid("SEARCH", "ALL")
            assert typ == "OK", data
            return sorted(int(u) for u in (data[0] or b"").split())

    def uidvalidity(self, user: str, folder: str) -> int:
        with self.connect(user) as imap:
            typ, data = imap.status(_quote(folder), "(UIDVALIDITY)")
            match = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
            assert typ == "OK" and match, data
            return int(match.group(1))

    def maildir(self, user: str, folder: str) -> Path:
        root = self.mail_root / user / "Maildir"
        return root if folder.upper() == "INBOX" else root / ("." + folder.replace("/", "."))

    def change_uidvalidity(self, user: str, folder: str) -> int:
        """Make the server report a new UIDVALIDITY for a folder that keeps its messages.

        As a server that lost its indexes would: stop, delete the folder's dovecot-uidlist
        and dovecot.index* and the user's list index (it caches UIDVALIDITY), start on the same
        port. Dovecot renumbers the messages from 1 under a UIDVALIDITY from its per-user
        dovecot-uidvalidity counter, never the old one. Checked by STATUS; returns the new one.
        """
        old = self.uidvalidity(user, folder)
        self.stop()
        path, root = self.maildir(user, folder), self.maildir(user, "INBOX")
        for f in [*path.glob("dovecot-uidlist"), *path.glob("dovecot.index*"),
                  *root.glob("dovecot.list.index*")]:
            f.unlink()
        self.start()
        new = self.uidvalidity(user, folder)
        if new == old:
            raise RuntimeError(f"UIDVALIDITY of {user}/{folder} stayed {old}")
        return new
