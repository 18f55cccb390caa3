"""Where the shared real-world test data lives, and what the suite does without it.

The real MIDI files, DX7 banks and reference renders are not in the repository: they are in
``../shared/data`` beside the checkout. Without that folder, every test that needs it fails in
CI (``CI`` set, as ``.ci/run`` runs) and is skipped elsewhere, all with one line saying where
the data is expected; the tests that do not need it run as usual.

A test needs the data when its code, a module-level helper it calls or a fixture it uses
refers to a module-level path under that folder (``DATA``, ``MIDI``, ``SYX`` ...), or when it
is parametrized over paths there (or over a list of them that came out empty): such tests are
not even started. A test that builds the path itself is recognised when it fails on it.
"""
from __future__ import annotations

import os
import types
from pathlib import Path

import pytest

SHARED_DATA = (Path(__file__).resolve().parents[2] / "shared" / "data").resolve()
MISSING = f"shared test data not found: expected at {SHARED_DATA} (../shared/data beside the checkout)"
# one location for every such skip (the line above), so `pytest -ra` folds them into one line
_WHERE = (str(Path(__file__).resolve()), next(i for i, line in enumerate(Path(__file__).read_text().splitlines())
                                                if line.startswith("MISSING =")))


class SharedDataMissing(Exception):
    pass


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _is_data(value) -> bool:
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_is_data(v) for v in list(value)[:64])
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        try:
            p = Path(value)
            if not p.is_absolute():
                return False
            p = p.resolve()
        except (OSError, ValueError, TypeError):
            return False
        return p == SHARED_DATA or SHARED_DATA in p.parents
    return False


def _names(code: types.CodeType):
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _uses_data(func, seen: set) -> bool:
    """Whether ``func`` (or a helper of its module that it calls) refers to a data path."""
    func = getattr(func, "__wrapped__", func)
    code = getattr(func, "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    module_globals = getattr(func, "__globals__", {})
    for name in _names(code):
        value = module_globals.get(name)
        if _is_data(value):
            return True
        if (isinstance(value, types.FunctionType) and value.__module__ == func.__module__
                and _uses_data(value, seen)):
            return True
    return False


def _empty_parametrization(mark) -> bool:
    return mark.name == "skip" and "empty parameter set" in str(mark.kwargs.get("reason", ""))


def needs_data(item) -> bool:
    seen: set = set()
    if _uses_data(getattr(item, "function", None), seen):
        return True
    callspec = getattr(item, "callspec", None)
    if callspec is not None and any(_is_data(v) for v in callspec.params.values()):
        return True
    if any(_empty_parametrization(m) for m in item.own_markers):
        return True
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        if any(_uses_data(d.func, seen) for d in defs):
            return True
    return False


def pytest_configure(config):
    config.addinivalue_line("markers", "shared_data: the test reads ../shared/data (set by tests/conftest.py)")


def pytest_collection_modifyitems(config, items):
    if SHARED_DATA.is_dir():
        return
    for item in items:
        if needs_data(item):
            # replace pytest's generic "got empty parameter set" skip with the reason
            item.own_markers[:] = [m for m in item.own_markers if not _empty_parametrization(m)]
            item.add_marker(pytest.mark.shared_data)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("shared_data") is not None and not SHARED_DATA.is_dir():
        raise SharedDataMissing(MISSING + ("; CI needs it" if in_ci() else ""))


def _names_missing_data(excinfo) -> bool:
    if excinfo is None:
        return False
    if excinfo.errisinstance(SharedDataMissing):
        return True
    err = excinfo.value
    text = f"{err} {getattr(err, 'filename', '') or ''}"
    return str(SHARED_DATA) in text or str(SHARED_DATA).replace(os.sep, "/") in text


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and not SHARED_DATA.is_dir() and _names_missing_data(call.excinfo):
        if in_ci():
            rep.longrepr = MISSING + "; CI needs it"
        else:
            rep.outcome = "skipped"
            rep.longrepr = (*_WHERE, "Skipped: " + MISSING)
