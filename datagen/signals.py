"""SIGINT and SIGTERM end a command cleanly: temporary outputs removed, one line, exit 130/143.

SIGTERM is turned into ``datagen.errors.Terminated`` and SIGINT into ``KeyboardInterrupt`` in
the main thread, so ``finally`` blocks and ``datagen.output.staged`` clean up as for any error.
Some libraries (MindSpore's dataset engine among them) install their own handlers when they are
imported; call ``install()`` again after such an import. Worker processes call ``worker_init``
so that only the parent reacts to Ctrl-C (the terminal sends it to the whole process group).
A signal that lands inside an import can leave a library half-initialised (MindSpore turns the
interrupt into ``ImportError: initialization failed`` and the interpreter aborts at exit), so
such imports run under ``held()``, which delivers the signal once the block is over.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

from datagen.errors import Terminated

_MAIN_PID: int | None = None
_HOLD = 0  # depth of held() blocks in progress
_PENDING: list[int] = []  # signals that arrived inside them


def _raise(signum: int) -> None:
    if signum == signal.SIGTERM:
        raise Terminated(signum)
    raise KeyboardInterrupt


def _on_signal(signum, frame) -> None:
    if os.getpid() != _MAIN_PID:
        os._exit(128 + signum)
    if _HOLD:
        _PENDING.append(signum)
        return
    _raise(signum)


_on_sigterm = _on_sigint = _on_signal


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


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is over, then act on one that arrived meanwhile.

    The one signal hold of the project: a set of renames that must finish together, or a heavy
    import. Under our handlers (``install()``) a signal is recorded and raised after the block, and
    the handlers are reinstalled (a library may replace or ignore them inside it: a kernel-side
    block would lose a signal the library sets to SIG_IGN). Without them the signals are blocked
    for the block's length. Main thread only (elsewhere a no-op).
    """
    global _HOLD
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _MAIN_PID is None:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return
    _HOLD += 1
    try:
        yield
    finally:
        _HOLD -= 1
        install()
        if not _HOLD and _PENDING:
            signum = _PENDING[0]
            _PENDING.clear()
            _raise(signum)
