"""Benchmarks: pytest-benchmark, results saved as JSON (see `make bench`).

Timings never decide pass or fail here. Where two implementations are
compared, both are measured in the same run and the ratio is recorded in
`extra_info`, since absolute times on a shared machine drift.
"""
import os
import platform
import sys
from pathlib import Path

import pyximport

ROOT = Path(__file__).resolve().parents[1]
# benchmark-only Cython modules (e.g. the mutex reference) compile on first import
pyximport.install(language_level=3, setup_args={"include_dirs": [str(ROOT / "fmcore_rt"), str(ROOT)]},
                  build_dir=str(ROOT / "build" / "pyxbld"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["cores"] = os.cpu_count()
    machine_info["processor"] = platform.processor() or platform.machine()
