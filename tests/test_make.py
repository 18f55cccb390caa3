"""The Makefile's one-command paths: `make demo` installs only what rendering needs, `make test`
the system packages and the test extras too (dry runs against an empty venv path)."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(target, tmp_path):
    r = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_demo_installs_only_the_package(tmp_path):
    out = _dry_run("demo", tmp_path)
    installs = [ln for ln in out.splitlines() if "pip install" in ln and "--upgrade pip" not in ln]
    assert installs and all(ln.rstrip().endswith("-e .") for ln in installs), installs
    assert "apt-get" not in out and "[test" not in out and "bench" not in out
    assert "fmcore render -o out/demo.wav" in out


def test_test_installs_the_system_packages_and_the_test_extras(tmp_path):
    out = _dry_run("test", tmp_path)
    assert "apt-get" in out and "-e '.[test]'" in out and "bench" not in out
    assert "pytest -q" in out
