"""An SMTP sink in a process of its own, for the end-to-end benchmark.

In its own process because a relay is never inside mailbot: in-process, the sink's work
would share mailbot's interpreter lock and its memory would count as mailbot's (it would
hold every message it accepted). It keeps no messages, only what the benchmark asks
about, and answers over a pipe when asked, so that watching it costs mailbot's process
nothing while mail flows:

    acks        ->  <acknowledgements accepted> <time.monotonic() of the first one>
                    <time.monotonic() of the last one>
    seen <id>   ->  <time.monotonic() a reply to <id> was accepted, or ->

(time.monotonic() is the system-wide clock on Linux, so the two processes agree on it.)

    python bench/sink.py PORT
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
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
    def __init__(self) -> None:
        self.acks = 0
        self.first_ack = self.last_ack = 0.0
        self.seen: dict[str, float] = {}

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        now = time.monotonic()
        raw: bytes = envelope.original_content  # type: ignore[attr-defined]
        head = raw.partition(b"\r\n\r\n")[0]
        if ACK in head:
            self.acks, self.last_ack = self.acks + 1, now
            self.first_ack = self.first_ack or now
        found = _IN_REPLY_TO.search(head)
        if found:
            self.seen.setdefault(found.group(1).decode("ascii", "replace"), now)
        return "250 OK"


def serve(port: int) -> None:
    from aiosmtpd.controller import Controller

    handler = _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    for line in sys.stdin:  # until the benchmark closes our stdin
        command, _, argument = line.strip().partition(" ")
        if command == "acks":
            print(f"{handler.acks} {handler.first_ack} {handler.last_ack}", flush=True)
        elif command == "seen":
            print(handler.seen.get(argument, "-"), flush=True)
    controller.stop()


class Sink:
    """The sink process, and questions to it."""

    def __init__(self) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self._ask("") != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def _ask(self, question: str) -> str:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        if question:
            self._proc.stdin.write(question + "\n")
            self._proc.stdin.flush()
        return self._proc.stdout.readline().strip()

    def acks(self) -> tuple[int, float, float]:
        """How many acknowledgements were accepted, when the first and the last one were."""
        count, first, last = self._ask("acks").split()
        return int(count), float(first), float(last)

    def cpu_seconds(self) -> float:
        """The sink process's CPU time so far (user and system; Linux)."""
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def seen(self, message_id: str) -> float | None:
        """When a reply to `message_id` was accepted, if it was."""
        answer = self._ask(f"seen {message_id}")
        return None if answer == "-" else float(answer)

    def wait_for_acks(self, count: int, timeout: float) -> float:
        """The monotonic time of the `count`th acknowledgement; TimeoutError if it is late."""
        deadline = time.monotonic() + timeout
        while (found := self.acks())[0] < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{found[0]} acknowledgements of {count} in {timeout} s")
            time.sleep(0.05)
        return found[2]

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
