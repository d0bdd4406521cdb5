"""An SMTP sink in a process of its own, for the end-to-end benchmark.

In its own process because a relay is never inside mailbot: in-process, the sink's work
would share mailbot's interpreter lock and its memory would count as mailbot's (it would
hold every message it accepted). It keeps nothing; for each message it accepts it writes
one line, `<1 if an acknowledgement else 0> <In-Reply-To or ->`, which `Sink` reads.

    python bench/sink.py PORT
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

_IN_REPLY_TO = re.compile(rb"^In-Reply-To: *(\S+)", re.MULTILINE | re.IGNORECASE)
ACK = b"Auto-Submitted: auto-replied"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        raw: bytes = envelope.original_content  # type: ignore[attr-defined]
        head = raw.partition(b"\r\n\r\n")[0]
        found = _IN_REPLY_TO.search(head)
        reply_to = found.group(1).decode("ascii", "replace") if found else "-"
        sys.stdout.write(f"{int(ACK in head)} {reply_to}\n")
        sys.stdout.flush()
        return "250 OK"


def serve(port: int) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(_Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.read()  # until the benchmark closes our stdin
    controller.stop()


class Sink:
    """The sink process and what it reported: how many acknowledgements, when the last
    one arrived, and when each awaited In-Reply-To was first seen (time.monotonic())."""

    def __init__(self) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.acks = 0
        self.last_ack = 0.0
        self.seen: dict[str, float] = {}
        self._awaited: set[str] = set()
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        if self._proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            now = time.monotonic()
            ack, _, reply_to = line.strip().partition(" ")
            with self._lock:
                if ack == "1":
                    self.acks, self.last_ack = self.acks + 1, now
                if reply_to in self._awaited:
                    self._awaited.discard(reply_to)
                    self.seen[reply_to] = now

    def await_reply(self, message_id: str) -> None:
        """Note the time of the first message that answers `message_id`."""
        with self._lock:
            self._awaited.add(message_id)

    def wait_for_acks(self, count: int, timeout: float) -> float:
        """The monotonic time of the `count`th acknowledgement; TimeoutError if it is late."""
        deadline = time.monotonic() + timeout
        while self.acks < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.acks} acknowledgements of {count} in {timeout} s")
            time.sleep(0.01)
        return self.last_ack

    def reset(self) -> None:
        with self._lock:
            self.acks, self.last_ack = 0, 0.0
            self.seen.clear()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)
        self._reader.join(timeout=5)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
