"""The daemon's long-lived objects, set aside from the cyclic garbage collector.

Rules, templates, the schema and the modules are made once and live as long as the
process, yet every full collection walks them all again: some 5% of the instructions a
message cost the daemon (callgrind on a bench backlog). Frozen, they are skipped; mail's
own short-lived objects are collected as before. A reload thaws the heap so that the
rules and templates it replaced, cycles and all, are freed before the rest is frozen again
(any a mailbox pass still held at that moment are freed at the next reload).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what is garbage now, then freeze the rest (at the daemon's start)."""
    gc.collect()
    gc.freeze()


def resettle() -> None:
    """After a reload: the replaced handlers were frozen with the rest; free them too."""
    gc.unfreeze()
    settle()


def thaw() -> None:
    """Give the collector back the whole heap (the daemon is done; its process may not be)."""
    gc.unfreeze()
