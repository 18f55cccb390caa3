"""The package as users get it: sdist -> wheel built from the sdist -> a fresh venv -> render elsewhere.

One build per run (a module fixture: about 1-2 minutes on 2 cores, the wheel compiles every
extension from the sdist's .pyx sources), with build isolation as pip does, so the
build-system requirements of pyproject.toml are what builds it. The fresh venv has only the
wheel and its core dependencies, so it also shows what a user without the optional extras sees.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import soundfile as sf

import fmcore

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fmcore", "fmcore_rt")


def _run(cmd, cwd, env=None, timeout=900):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def _sources(*suffixes):
    """Package-relative paths of the checkout's files with these suffixes (what the sdist must carry)."""
    return sorted(str(p.relative_to(ROOT)) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*")
                  if p.suffix in suffixes and "__pycache__" not in p.parts)


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("packaging")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "build", "--sdist", "-o", dist, ROOT], cwd=tmp)
    sdist = next(dist.glob("fmcore-*.tar.gz"))
    with tarfile.open(sdist) as tf:
        tf.extractall(tmp / "unpacked", filter="data")
    src = next((tmp / "unpacked").iterdir())
    # the wheel is built from the unpacked sdist, as pip does with an sdist, never from the checkout
    _run([sys.executable, "-m", "build", "--wheel", "-o", dist, src], cwd=tmp)
    wheel = next(dist.glob("fmcore-*.whl"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp)
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", py, "install", "-q", wheel], cwd=tmp)
    work = tmp / "elsewhere"
    work.mkdir()
    return {"sdist": sdist, "wheel": wheel, "venv": venv, "py": py, "work": work, "src": src}


def test_sdist_carries_the_sources_and_not_the_generated_cpp(built):
    with tarfile.open(built["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    needed = _sources(".pyx", ".pxd", ".pyi", ".h", ".hpp", ".c")
    assert needed, "no Cython sources found in the checkout"
    missing = [p for p in needed if p not in names]
    assert not missing, f"sdist lacks {missing}"
    assert "fmcore/data/demo.mid" in names and "fmcore/py.typed" in names and "fmcore_rt/py.typed" in names
    assert not [n for n in names if n.endswith((".cpp", ".so"))], "generated files in the sdist"


def test_wheel_from_the_sdist_has_every_extension_and_no_cpp(built):
    with zipfile.ZipFile(built["wheel"]) as zf:
        names = zf.namelist()
    modules = {n.split(".cpython-")[0].replace("/", ".") for n in names if n.endswith(".so") and ".cpython-" in n}
    expected = {p[:-4].replace("/", ".") for p in _sources(".pyx")}
    assert modules == expected, f"missing {expected - modules}, unexpected {modules - expected}"
    assert "fmcore_rt/rtcheck/librtcheck.so" in names
    assert not [n for n in names if n.endswith(".cpp")], "generated .cpp files shipped into site-packages"
    assert "fmcore/py.typed" in names and "fmcore/data/demo.mid" in names
    assert any(n.endswith(".pxd") for n in names) and any(n.endswith(".pyi") for n in names)
    with zipfile.ZipFile(built["wheel"]) as zf:
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert f"Version: {fmcore.__version__}" in meta and "License-Expression: MIT" in meta


def test_fresh_venv_renders_from_another_directory(built):
    work, venv = built["work"], built["venv"]
    env = _clean_env()
    r = _run([built["py"], "-c", "import fmcore, fmcore_rt, pathlib; print(pathlib.Path(fmcore.__file__).parent)"],
             cwd=work, env=env)
    installed = Path(r.stdout.strip())
    assert venv in installed.parents, f"fmcore imported from {installed}, not the fresh venv"
    # every compiled module imports in the fresh venv
    with zipfile.ZipFile(built["wheel"]) as zf:
        mods = sorted(n.split(".cpython-")[0].replace("/", ".") for n in zf.namelist() if ".cpython-" in n)
    _run([built["py"], "-c", "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]", *mods],
         cwd=work, env=env)
    assert not list(installed.rglob("*.cpp"))
    r = _run([venv / "bin" / "fmcore", "render", "-o", "demo.wav", "--tail", "0.2", "--no-progress"], cwd=work,
             env=env)
    info = sf.info(str(work / "demo.wav"))
    assert info.samplerate == 48000 and info.channels == 2 and info.duration > 20, info
    assert "demo.wav" in r.stdout


@pytest.mark.parametrize("args, expected", [
    (["--version"], None),
    (["play", "--backend", "sounddevice", "--tail", "0"],
     "fmcore: error: the sounddevice backend needs python-sounddevice: pip install sounddevice"),
    (["play", "--backend", "pyaudio", "--tail", "0"], "fmcore: error: the pyaudio backend needs PyAudio: pip install pyaudio"),
    (["live", "--list-ports"], "fmcore: error: MIDI input needs python-rtmidi: pip install python-rtmidi"),
])
def test_fresh_venv_without_extras_says_what_to_install(built, args, expected):
    """The core install has none of the optional parts: each says in one line what to install."""
    r = subprocess.run([built["venv"] / "bin" / "fmcore", *args], cwd=built["work"], env=_clean_env(),
                       capture_output=True, text=True, timeout=120)
    if expected is None:
        assert r.returncode == 0 and r.stdout.strip() == f"fmcore {fmcore.__version__}", r
        return
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith(expected), r.stderr


def test_fresh_venv_batch_on_ray_without_ray(built):
    (built["work"] / "jobs.jsonl").write_text('{"note": 60, "patch": "E.Piano", "output": "a.wav"}\n')
    r = subprocess.run([built["venv"] / "bin" / "fmcore", "batch", "jobs.jsonl", "--backend", "ray"],
                       cwd=built["work"], env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "the ray backend needs Ray: pip install 'fmcore[ray]'" in r.stderr, r
