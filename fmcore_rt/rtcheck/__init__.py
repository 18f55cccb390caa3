"""The real-time safety checker.

``librtcheck.so`` (built next to this package) is loaded with ``LD_PRELOAD``.
It interposes allocation and memory mapping (``mmap``/``munmap``), locking
and waiting, sleeping, I/O (including ``writev``, ``pwrite``, ``fsync``,
``poll``) and raw ``syscall``, and counts every such call a thread makes
while it is inside a real-time section (``Processor.run_block`` marks each
render, ``NativeStream``'s callback its glue too). Outside a section calls
pass straight through.

From Python::

    from fmcore_rt import rtcheck
    rtcheck.available()            # is the library preloaded into this process?
    with rtcheck.watch() as report:
        processor.process(out)
    report.by_function             # {"malloc": 3, ...}: violations made in the block

    rtcheck.run([sys.executable, "-c", code])   # run a command under the preload

From the shell::

    python -m fmcore_rt.rtcheck [--abort] -- <command ...>

prints the violations by category and function when the command exits.
``FMCORE_RTCHECK_ABORT=1`` makes the first violation abort the process with
the function name and a backtrace; ``FMCORE_RTCHECK_REPORT=1`` makes the
library print its totals to stderr at exit.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Sequence

__all__ = [
    "CATEGORIES", "Report", "library_path", "available", "snapshot", "reset", "watch",
    "set_abort", "preload_env", "run",
]

#: Violation categories, in the order reports list them.
CATEGORIES = ("alloc", "lock", "sleep", "io", "syscall")

_LIBNAME = "librtcheck.so"


def library_path() -> str:
    """Absolute path of ``librtcheck.so`` (next to this package; it may not be built yet)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIBNAME)


_lib = None
_lib_probed = False


def _library():
    """The preloaded checker as a ctypes library, or None when it is not in this process."""
    global _lib, _lib_probed
    if _lib_probed:
        return _lib
    _lib_probed = True
    try:
        handle = ctypes.CDLL(None)  # the global scope: includes LD_PRELOAD libraries
        handle.fmcore_rtcheck_enter
    except (OSError, AttributeError):
        return None
    handle.fmcore_rtcheck_nfuncs.restype = ctypes.c_int
    handle.fmcore_rtcheck_func_name.restype = ctypes.c_char_p
    handle.fmcore_rtcheck_func_name.argtypes = [ctypes.c_int]
    handle.fmcore_rtcheck_func_category.restype = ctypes.c_char_p
    handle.fmcore_rtcheck_func_category.argtypes = [ctypes.c_int]
    handle.fmcore_rtcheck_func_count.restype = ctypes.c_ulonglong
    handle.fmcore_rtcheck_func_count.argtypes = [ctypes.c_int]
    handle.fmcore_rtcheck_set_abort.restype = ctypes.c_int
    handle.fmcore_rtcheck_set_abort.argtypes = [ctypes.c_int]
    handle.fmcore_rtcheck_reset.restype = None
    handle.fmcore_rtcheck_sections.restype = ctypes.c_ulonglong
    _lib = handle
    return _lib


def available() -> bool:
    """True when ``librtcheck`` is preloaded into this process (so violations are counted)."""
    return _library() is not None


@dataclass
class Report:
    """Violations made in real-time sections: by function and by category.

    ``active`` is False when the checker is not preloaded: the report is then
    empty and says nothing about the code that ran. ``sections`` counts the
    real-time sections entered (all threads): 0 means nothing was watched,
    whatever ``active`` says.
    """
    by_function: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    active: bool = False
    sections: int = 0

    @property
    def total(self) -> int:
        """Number of violating calls."""
        return sum(self.by_function.values())

    @property
    def clean(self) -> bool:
        """True when no violation was counted (also when the checker is inactive)."""
        return self.total == 0

    def _fill(self, counts: Mapping[str, int], categories: Mapping[str, str]) -> None:
        self.by_function = {fn: n for fn, n in counts.items() if n > 0}
        cats: dict[str, int] = {}
        for fn, n in self.by_function.items():
            cats[categories[fn]] = cats.get(categories[fn], 0) + n
        self.by_category = {c: cats[c] for c in CATEGORIES if c in cats}

    def format(self) -> str:
        """The report as text: one line per category, its functions indented below."""
        if not self.active:
            return "rtcheck: not active (librtcheck is not preloaded into this process)"
        if self.clean:
            return "rtcheck: no violations in real-time sections"
        lines = [f"rtcheck: {self.total} violation(s) in real-time sections"]
        cats = _function_categories()
        for cat, n in self.by_category.items():
            lines.append(f"  {cat:<24}{n:>10}")
            for fn, k in sorted(self.by_function.items(), key=lambda kv: -kv[1]):
                if cats.get(fn) == cat:
                    lines.append(f"    {fn:<22}{k:>10}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


_categories_cache: dict[str, str] | None = None


def _function_categories() -> dict[str, str]:
    global _categories_cache
    lib = _library()
    if lib is None:
        return {}
    if _categories_cache is None:
        n = lib.fmcore_rtcheck_nfuncs()
        _categories_cache = {lib.fmcore_rtcheck_func_name(i).decode(): lib.fmcore_rtcheck_func_category(i).decode()
                             for i in range(n)}
    return _categories_cache


def _counts() -> dict[str, int]:
    lib = _library()
    if lib is None:
        return {}
    return {lib.fmcore_rtcheck_func_name(i).decode(): int(lib.fmcore_rtcheck_func_count(i))
            for i in range(lib.fmcore_rtcheck_nfuncs())}


def _sections() -> int:
    lib = _library()
    return int(lib.fmcore_rtcheck_sections()) if lib is not None else 0


def snapshot() -> Report:
    """Process-wide totals since the library loaded (or the last ``reset()``), all threads."""
    report = Report(active=available())
    if report.active:
        report._fill(_counts(), _function_categories())
        report.sections = _sections()
    return report


def reset() -> None:
    """Zero the process-wide counters (no-op when the checker is not preloaded)."""
    lib = _library()
    if lib is not None:
        lib.fmcore_rtcheck_reset()


def set_abort(on: bool) -> bool:
    """Turn abort-on-first-violation on or off in this process; returns the previous mode.

    Raises RuntimeError when the checker is not preloaded.
    """
    lib = _library()
    if lib is None:
        raise RuntimeError("rtcheck is not preloaded into this process")
    return bool(lib.fmcore_rtcheck_set_abort(1 if on else 0))


@contextlib.contextmanager
def watch() -> Iterator[Report]:
    """Count the violations made (by any thread) while the block runs.

    Yields a ``Report`` that is filled when the block exits. When the checker
    is not preloaded the report stays empty with ``active`` False, so callers
    can use ``watch()`` unconditionally.
    """
    report = Report(active=available())
    if not report.active:
        yield report
        return
    before = _counts()
    sections0 = _sections()
    try:
        yield report
    finally:
        after = _counts()
        report.sections = _sections() - sections0
        # max(0, ...): a reset() inside the block must not give negative counts.
        report._fill({fn: max(0, n - before.get(fn, 0)) for fn, n in after.items()}, _function_categories())


def preload_env(env: Mapping[str, str] | None = None, abort: bool = False) -> dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) with the checker added to ``LD_PRELOAD``.

    Raises FileNotFoundError when the library is not built.
    """
    lib = library_path()
    if not os.path.exists(lib):
        raise FileNotFoundError(
            f"{lib} is not built: run `FMCORE_ONLY=fmcore_rt.rtcheck python setup.py build_ext --inplace`")
    if any(c.isspace() or c == ":" for c in lib):
        raise ValueError(f"LD_PRELOAD cannot name a path with spaces or colons: {lib!r}")
    out = dict(os.environ if env is None else env)
    current = out.get("LD_PRELOAD", "").strip()
    out["LD_PRELOAD"] = f"{current} {lib}" if current else lib
    if abort:
        out["FMCORE_RTCHECK_ABORT"] = "1"
    return out


def run(argv: Sequence[str], abort: bool = False, env: Mapping[str, str] | None = None,
        timeout: float | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run ``argv`` with the checker preloaded, capturing stdout and stderr as text.

    ``env`` replaces the environment (default: this process's); the checker is
    appended to any ``LD_PRELOAD`` in it. With ``abort`` the first violation
    aborts the child (SIGABRT) after printing the function and a backtrace.
    """
    return subprocess.run(list(argv), env=preload_env(env, abort), capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)
