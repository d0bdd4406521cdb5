"""The two things a Type=notify service tells systemd, by the documented datagram protocol
(sd_notify(3)); without $NOTIFY_SOCKET, as outside systemd, every call does nothing."""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send e.g. "READY=1" or "WATCHDOG=1"; True if systemd was told."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            # Never wait: a full queue on systemd's side must not stall the daemon.
            sock.send(state.encode(), socket.MSG_DONTWAIT)
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between keep-alives: half of WatchdogSec, if systemd asked this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2_000_000
    except ValueError:
        return None
