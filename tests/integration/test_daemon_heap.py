"""The daemon's long-lived heap is kept out of the garbage collector's full passes, and a
reload still frees the rules and templates it replaced."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from mailbot.app import App
from mailbot.services.daemon import Daemon, Handlers, Pacing, Supervision
from tests.daemonproc import wait_until
from tests.integration.test_daemon_faults import IdleSender


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_heap_is_frozen_while_running_and_a_reload_frees_the_old_handlers(
        app: App) -> None:
    old = app.intake()
    old.cycle = old  # type: ignore[attr-defined]  # only the cyclic collector frees it
    gone = weakref.ref(old)
    stop = threading.Event()
    daemon = Daemon({}, Handlers(old), app.store, IdleSender(), app.clock,
                    Pacing(send_interval=1, max_backoff=5), stop,
                    Supervision(reload=lambda: Handlers(app.intake())))
    del old
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        wait_until(lambda: gc.get_freeze_count() > 0, 10, "the running daemon's frozen heap")
        assert gone() is not None
        daemon.reload_requested.set()
        wait_until(lambda: gone() is None, 10, "the replaced handlers freed")
        wait_until(lambda: gc.get_freeze_count() > 0, 10, "the heap frozen again")
    finally:
        stop.set()
        thread.join(15)
    assert gc.get_freeze_count() == 0, "the collector was not given back the whole heap"
