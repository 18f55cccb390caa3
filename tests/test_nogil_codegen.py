"""The generated C++ of the audio-path modules has no GIL-taking error branch in a nogil function.

A ``nogil`` function that can raise (a division compiled without
``cdivision``, an unbound local, an ``except +`` call) gets a branch that takes
the GIL to set the exception (``PyGILState_Ensure``). On the audio thread that
is a lock and a Python object. The criterion, on Cython's output for the
current sources: no ``cdef`` function (``__pyx_f_*``) of a hot module contains
``PyGILState_Ensure``; a function that holds the GIL never needs it, so any
occurrence is a nogil function's error path (or a ``with gil`` block, which the
audio path must not have either).
"""
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# everything the audio thread runs: the engine, the effects, fmcore_rt's primitives and streams
HOT = (["fmcore/_engine.pyx"] + sorted(glob.glob(os.path.join(ROOT, "fmcore", "fx", "*.pyx")))
       + [f"fmcore_rt/{m}.pyx" for m in ("params", "spsc", "pool", "processor", "timing", "clock",
                                          "native_stream")])

FUNC = re.compile(r"^static [^;]*?\b(__pyx_f_\w+)\(.*\{$")
# Callbacks that take the GIL by design, and why the audio path does not depend on them.
BY_DESIGN = {
    "__pyx_f_6fmcore_2fx_3lv2__map_uri": "LV2 URID map: plugins map their URIs when instantiated, on the "
                                         "control thread; one that maps inside run() takes the GIL there, "
                                         "and the checker reports that plugin (tests/test_lv2.py)",
    "__pyx_f_6fmcore_2fx_3lv2__unmap_uri": "LV2 URID unmap: as the map",
}
GIL_TAKING = ("PyGILState_Ensure", "__Pyx_WriteUnraisable")


def gil_taking_functions(cpp_text):
    """Names of cdef functions whose bodies take the GIL, with what they call."""
    bad = {}
    lines = cpp_text.split("\n")
    i = 0
    while i < len(lines):
        m = FUNC.match(lines[i])
        if m:
            j = i + 1
            while lines[j] != "}":        # Cython closes every function at column 0
                j += 1
            body = "\n".join(lines[i:j])
            found = [k for k in GIL_TAKING if k in body]
            if found:
                bad[m.group(1)] = found
            i = j
        i += 1
    return bad


def cythonize(pyx, out_dir):
    from Cython.Compiler.Main import CompilationOptions, compile as cy_compile, default_options

    out = os.path.join(out_dir, os.path.basename(pyx)[:-4] + ".cpp")
    opts = CompilationOptions(default_options, cplus=True, language_level=3, output_file=out,
                              include_path=[os.path.join(ROOT, "fmcore_rt"), os.path.join(ROOT, "fmcore"), ROOT])
    assert cy_compile(os.path.join(ROOT, pyx), opts).num_errors == 0, pyx
    with open(out) as f:
        return f.read()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("cython")
    cwd = os.getcwd()
    os.chdir(ROOT)          # Cython names sources relative to the working directory
    try:
        return {os.path.relpath(p, ROOT): cythonize(os.path.relpath(p, ROOT), str(d)) for p in HOT}
    finally:
        os.chdir(cwd)


def test_the_criterion_sees_a_checked_division_in_a_nogil_function(tmp_path):
    # the check itself must be able to fail: a nogil division without cdivision is flagged
    src = tmp_path / "probe.pyx"
    src.write_text("cdef double ratio(double a, double b) noexcept nogil:\n    return a / b\n"
                   "cdef double ok(double a, double b) noexcept nogil:\n    return a * b\n")
    from Cython.Compiler.Main import CompilationOptions, compile as cy_compile, default_options

    opts = CompilationOptions(default_options, cplus=True, language_level=3, output_file=str(tmp_path / "p.cpp"))
    assert cy_compile(str(src), opts).num_errors == 0
    bad = gil_taking_functions((tmp_path / "p.cpp").read_text())
    assert list(bad) == ["__pyx_f_5probe_ratio"]


@pytest.mark.parametrize("pyx", [os.path.relpath(p, ROOT) for p in HOT])
def test_no_gil_taking_branch_in_nogil_code(generated, pyx):
    bad = {f: calls for f, calls in gil_taking_functions(generated[pyx]).items() if f not in BY_DESIGN}
    assert bad == {}, f"{pyx}: cdef functions with a GIL-taking error path: {bad}"
