"""SIGINT and SIGTERM end a command cleanly: temporary outputs removed, one line, exit 130/143.

SIGTERM is turned into ``datagen.errors.Terminated`` and SIGINT into ``KeyboardInterrupt`` in
the main thread, so ``finally`` blocks and ``datagen.output.staged`` clean up as for any error.
Some libraries (MindSpore's dataset engine among them) install their own handlers when they are
imported; call ``install()`` again after such an import. Worker processes call ``worker_init``
so that only the parent reacts to Ctrl-C (the terminal sends it to the whole process group).
"""

from __future__ import annotations

import os
import signal
import threading

from datagen.errors import Terminated

_MAIN_PID: int | None = None


def _on_sigterm(signum, frame) -> None:
    if os.getpid() != _MAIN_PID:
        os._exit(128 + signum)
    raise Terminated(signum)


def _on_sigint(signum, frame) -> None:
    if os.getpid() != _MAIN_PID:
        os._exit(128 + signum)
    raise KeyboardInterrupt


def install() -> None:
    """(Re)install the handlers; a no-op outside the main thread."""
    global _MAIN_PID
    if threading.current_thread() is not threading.main_thread():
        return
    if _MAIN_PID is None:
        _MAIN_PID = os.getpid()
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, _on_sigint)


def worker_init() -> None:
    """Pool initializer: ignore Ctrl-C (the parent stops the pool), die quietly on SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
