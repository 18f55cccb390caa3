"""Model check of the parameter store's publication protocol with spin.

``tools/params_model.pml`` models the atomic steps of a batch writer, a
single-set thread and the audio thread (see its header for the properties).
spin explores every interleaving: the protocol as built must pass, and each
mutant that reintroduces one of the bugs of issue 14 must be caught, which
shows the properties have teeth. spin comes from the Makefile's system
packages (``make sysdeps``).
"""
import os
import shutil
import subprocess

import pytest

MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "params_model.pml")


def run_spin(tmp_path, *defines):
    for tool in ("spin", "gcc"):
        assert shutil.which(tool), f"{tool} is not installed: run `make sysdeps` (apt-get install spin gcc)"
    shutil.copy(MODEL, tmp_path / "model.pml")
    subprocess.run(["spin", *defines, "-a", "model.pml"], cwd=tmp_path, check=True, capture_output=True,
                   timeout=120)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-o", "pan", "pan.c"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    r = subprocess.run(["./pan", "-m200000"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    return r.stdout


def test_every_interleaving_keeps_the_store_s_promises(tmp_path):
    out = run_spin(tmp_path)
    assert "errors: 0" in out, out
    assert "Search not completed" not in out and "max search depth too small" not in out, out
    stored = int(next(ln for ln in out.splitlines() if "states, stored" in ln).split()[0])
    assert stored > 100_000          # the search really ran through the interleavings


@pytest.mark.parametrize("mutant,caught", [
    ("PARTIAL_BUFFER", "target["),                 # 14.4: a skipped buffer loses a batch
    ("IGNORE_GEN", "s_end_started"),               # a single set overtaken by a batch shows anyway
    ("CELL_IS_TRUTH", "target[i]==v"),             # 14.6: control and audio end apart
])
def test_the_model_catches_each_reintroduced_bug(tmp_path, mutant, caught):
    out = run_spin(tmp_path, f"-D{mutant}")
    assert "assertion violated" in out and caught in out, out
