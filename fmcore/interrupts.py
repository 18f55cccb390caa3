"""Stop signals as exceptions, held back while C code is calling into Python.

Ctrl-C (SIGINT), SIGTERM and SIGHUP stop a command the same way: an exception
unwinds it, temporary files are removed, and the CLI says "interrupted" or
"terminated". libsndfile writes through Python callbacks (see
``fmcore.audiofile``); an exception raised inside one of those is swallowed
by cffi and becomes a failed write. So ``held()`` marks the calls into C that
may call back: a signal arriving inside is remembered and raised when the call
returns.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM/SIGHUP: stop like Ctrl-C does (temporary files removed, nothing half-written)."""


_held = 0
_pending: int | None = None


def _stop(signum: int):
    if signum == signal.SIGINT:
        raise KeyboardInterrupt()
    raise Terminated(signum)


def _on_signal(signum, frame):
    global _pending
    if _held:
        if _pending is None:
            _pending = signum
        return
    _stop(signum)


def install() -> None:
    """Handle SIGINT, SIGTERM and SIGHUP as above (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), _on_signal)


@contextmanager
def held(drop: bool = False):
    """Hold stop signals back until the block ends, then raise the first; with ``drop``
    (cleanup on the way out anyway) forget them. Signals reach the main thread only, so
    elsewhere this does nothing."""
    global _held, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending is not None:
            signum, _pending = _pending, None
            if not drop:
                _stop(signum)
