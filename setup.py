"""Build the Cython/C++ extensions of fmcore and fmcore_rt.

Every ``.pyx`` under ``fmcore/`` and ``fmcore_rt/`` becomes a C++17 extension
module of the same dotted name, so adding a module needs no edit here.

Flags are portable by default (``-O3``). Set ``FMCORE_NATIVE=1`` to add
``-march=native`` for a build that only has to run on this CPU, and
``FMCORE_DEBUG=1`` for an unoptimised build with assertions.
``FMCORE_SANITIZE=thread`` builds for ThreadSanitizer (``make tsan``).
"""
import os
import sys
from glob import glob

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
SANITIZE = os.environ.get("FMCORE_SANITIZE", "")   # e.g. "thread"
RTCHECK_NAME = "fmcore_rt.rtcheck.librtcheck"
RTCHECK_SRC = os.path.join("fmcore_rt", "rtcheck", "librtcheck.c")


def _compile_args():
    if os.environ.get("FMCORE_DEBUG") == "1":
        args = ["-O0", "-g", "-UNDEBUG"]
    else:
        args = ["-O3", "-DNDEBUG"]
    if os.environ.get("FMCORE_NATIVE") == "1":
        args.append("-march=native")
    if SANITIZE:
        args += [f"-fsanitize={SANITIZE}", "-g", "-O1"]
    # Strict IEEE semantics stay on (no -ffast-math): the engine relies on
    # isfinite checks and exact phase arithmetic.
    return ["-std=c++17", "-fno-strict-aliasing", *args]


# Modules that link a system library, and the header that must be present to build them.
SYSTEM_LIBS = {
    "fmcore_rt.native_stream": {"libraries": ["portaudio"], "header": "portaudio.h",
                                "package": "portaudio19-dev"},
    "fmcore.fx.lv2": {"libraries": ["lilv-0"], "header": "lilv-0/lilv/lilv.h",
                      "include_dirs": ["/usr/include/lilv-0"], "package": "liblilv-dev"},
}


def _have_header(header):
    dirs = ["/usr/include", "/usr/local/include", os.path.join(sys.prefix, "include")]
    dirs += [d for d in os.environ.get("CPATH", "").split(os.pathsep) if d]
    return any(os.path.exists(os.path.join(d, header)) for d in dirs)


def _wanted(name):
    # FMCORE_ONLY=fmcore_rt,fmcore.fx limits a development build to those modules.
    only = [p for p in os.environ.get("FMCORE_ONLY", "").split(",") if p]
    return not only or any(name == p or name.startswith(p + ".") for p in only)


def _extensions():
    exts = []
    for pyx in sorted(glob("fmcore/**/*.pyx", recursive=True) + glob("fmcore_rt/**/*.pyx", recursive=True)):
        name = pyx[:-4].replace(os.sep, ".")
        if not _wanted(name):
            continue
        libs = SYSTEM_LIBS.get(name, {})
        if libs and not _have_header(libs["header"]):
            # Optional module: everything else still builds; importing it says what is missing.
            print(f"fmcore: skipping {name}: {libs['header']} not found (apt-get install {libs['package']})",
                  file=sys.stderr)
            continue
        exts.append(
            Extension(
                name,
                [pyx],
                libraries=libs.get("libraries", []),
                language="c++",
                include_dirs=[numpy.get_include(), "fmcore_rt", "fmcore", *libs.get("include_dirs", [])],
                extra_compile_args=_compile_args(),
                extra_link_args=[f"-fsanitize={SANITIZE}"] if SANITIZE else [],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    # The real-time checker: a plain C shared library for LD_PRELOAD, not a
    # Python module. Its file name is fixed (see ParallelBuildExt).
    if os.path.exists(RTCHECK_SRC) and _wanted(RTCHECK_NAME):
        exts.append(
            Extension(
                RTCHECK_NAME,
                [RTCHECK_SRC],
                language="c",
                extra_compile_args=["-O2", "-fPIC", "-pthread"],
                extra_link_args=["-ldl", "-pthread"],
            )
        )
    return exts


class ParallelBuildExt(build_ext):
    """build_ext that cythonizes the ``.pyx`` sources and compiles on every core unless told otherwise.

    Cythonizing happens here, not when ``setup.py`` is read, so an sdist carries the
    ``.pyx``/``.pxd`` sources (not the generated ``.cpp``) and the wheel built from
    it generates them again.
    """

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1

    def run(self):
        pyx = [e for e in self.extensions if any(s.endswith(".pyx") for s in e.sources)]
        if pyx:
            done = cythonize(pyx, language_level=3, nthreads=os.cpu_count() or 1,
                             compiler_directives={"embedsignature": True})
            # keep setuptools' own Extension objects (finalize_options annotated them): take the sources
            sources = {e.name: e.sources for e in done}
            for e in pyx:
                e.sources = sources[e.name]
        super().run()

    def get_ext_filename(self, fullname):
        if fullname == RTCHECK_NAME:
            return os.path.join(*RTCHECK_NAME.split(".")[:-1], "librtcheck.so")
        if fullname == RTCHECK_NAME.rsplit(".", 1)[1]:
            return "librtcheck.so"  # get_ext_fullpath() asks with the last component only
        return super().get_ext_filename(fullname)

    def get_export_symbols(self, ext):
        if ext.name == RTCHECK_NAME:
            return []  # a preload library exports its interposers, not PyInit_*
        return super().get_export_symbols(ext)


setup(ext_modules=_extensions(), cmdclass={"build_ext": ParallelBuildExt})
