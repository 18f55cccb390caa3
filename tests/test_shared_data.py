"""Without ../shared/data a test that needs it is skipped with one line saying where the data is
expected, and fails in CI; the tests that do not need it run (see tests/conftest.py)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

NEEDS_DATA = '''
import os
from pathlib import Path
import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = sorted((DATA / "midi").glob("*.mid"))

def read(name):
    return (DATA / "midi" / name).read_bytes()

def test_reads_through_a_helper():
    assert read("tiny-piano-cc64_music21-test14.mid")

@pytest.mark.parametrize("path", FILES)
def test_each_file(path):
    assert path.stat().st_size

def test_builds_the_path_itself():
    here = os.path.dirname(os.path.abspath(__file__))
    assert open(os.path.join(here, "..", "..", "shared", "data", "syx", "x.syx"), "rb").read()

def test_needs_nothing():
    assert 1 + 1 == 2
'''


def _checkout(tmp_path):
    """A checkout with its tests but nothing beside it (the package is the installed one)."""
    tests = tmp_path / "checkout" / "tests"
    tests.mkdir(parents=True)
    shutil.copy(HERE / "conftest.py", tests)
    shutil.copy(HERE / "test_sysex.py", tests)         # a real module with tests of both kinds
    (tests / "test_synthetic.py").write_text(NEEDS_DATA)
    return tmp_path / "checkout"


def _pytest(root, ci):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", "tests"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_outside_ci_data_tests_skip_with_one_line(tmp_path):
    root = _checkout(tmp_path)
    expected = (tmp_path / "shared" / "data").resolve()
    r = _pytest(root, ci=False)
    assert r.returncode == 0, r.stdout[-4000:]
    skips = [ln for ln in r.stdout.splitlines() if ln.startswith("SKIPPED")]
    assert len(skips) == 1, r.stdout[-4000:]
    assert f"shared test data not found: expected at {expected}" in skips[0]
    counts = r.stdout.strip().splitlines()[-1]
    assert " passed" in counts and " skipped" in counts and "failed" not in counts, counts
    # the synthetic module: three tests need the data, one does not
    assert "SKIPPED [" in skips[0] and int(skips[0].split("[")[1].split("]")[0]) >= 3


def test_in_ci_missing_data_fails(tmp_path):
    root = _checkout(tmp_path)
    r = _pytest(root, ci=True)
    assert r.returncode == 1, r.stdout[-4000:]
    assert "shared test data not found" in r.stdout and "CI needs it" in r.stdout
    assert "SKIPPED" not in r.stdout
