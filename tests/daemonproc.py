"""`mailbot run` as a real process, for the tests that signal, kill and restart it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import MAIL

HOMELESS = (MAIL / "complaint_homelessness_delay.eml").read_bytes()


def backlog(count: int, tag: str = "b") -> list[bytes]:
    """Distinct complaints, each from its own resident with its own Message-ID."""
    return [HOMELESS.replace(b"Message-ID: <homeless-1@", f"Message-ID: <{tag}{i}-".encode())
            .replace(b"dean.walker@example.net", f"resident{i}.{tag}@example.net".encode())
            for i in range(count)]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class DaemonProcess:
    """One `mailbot run`; its log (stderr) goes to a file the test can read."""

    def __init__(self, config: Path, log: Path, *args: str,
                 env: dict[str, str] | None = None) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(config), *args, "run"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            env={**os.environ, **(env or {})})

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """Signal it and wait; returns (exit code, seconds it took to exit)."""
        started = time.monotonic()
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._log.close()
        return code, time.monotonic() - started

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
