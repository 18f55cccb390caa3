"""Render speed against FluidSynth, the GM player people compare with, measured in one run.

Each real GM file in shared/data/midi renders whole to a 24-bit WAV at 48 kHz by the
``fmcore render`` command and by ``fluidsynth -ni -F`` with FluidR3_GM (its default reverb
and chorus, as fmcore's GM setup has its reverb sends), alternately, three rounds. Each
side's time is its child process's CPU seconds (start-up included, as a user pays it);
``extra_info`` has both and ``fmcore_speedup`` = FluidSynth's time / fmcore's. `make bench`
installs fluidsynth and fluid-soundfont-gm (as root); without them this file fails saying so.
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"
SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
FILES = sorted(p for p in DATA.glob("*freedoom*.mid"))


def _child_cpu(cmd) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_render_against_fluidsynth(benchmark, path, tmp_path):
    if shutil.which("fluidsynth") is None or not SF2.exists():
        pytest.fail("needs fluidsynth and FluidR3_GM: apt-get install fluidsynth fluid-soundfont-gm "
                    "(make bench does it as root)")
    fm = [sys.executable, "-m", "fmcore.cli", "render", str(path), "-o", str(tmp_path / "fm.wav"), "--rate", "48000"]
    fs = ["fluidsynth", "-ni", "-q", "-F", str(tmp_path / "fs.wav"), "-r", "48000", "-O", "s24", str(SF2), str(path)]
    times = {"fmcore": [], "fluidsynth": []}
    for _ in range(3):
        times["fmcore"].append(_child_cpu(fm))
        times["fluidsynth"].append(_child_cpu(fs))
    med = {k: statistics.median(v) for k, v in times.items()}
    benchmark.extra_info.update(file=path.name, fmcore_cpu_s=med["fmcore"], fluidsynth_cpu_s=med["fluidsynth"],
                                fmcore_speedup=med["fluidsynth"] / med["fmcore"])
    benchmark.pedantic(lambda: _child_cpu(fm), rounds=1, iterations=1)
