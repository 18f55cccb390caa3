"""The command line as a new user meets it: --version, help for every option, `fmcore patches`,
`info` with General MIDI names, and one clear line when a Ray cluster is not there."""
import argparse
import importlib.metadata
import os
import socket
import subprocess
import sys

import pytest

import fmcore
from fmcore.cli import build_parser
from fmcore.gm import DRUM_KEY_NAMES, PROGRAM_NAMES
from fmcore.presets import builtin_names, drum_kit, gm_bank
from fmcore.render import demo_song_path


def run_cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "fmcore.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"fmcore {fmcore.__version__}"
    assert importlib.metadata.version("fmcore") == fmcore.__version__


def _subparsers(parser, path=("fmcore",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subparsers(sub, path + (name,))


def test_every_option_and_argument_has_help():
    missing = []
    for path, parser in _subparsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"no help text: {missing}"


def test_every_command_has_help():
    for path, parser in _subparsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                assert set(helps) == set(action.choices) and all(helps.values()), (path, helps)


def test_patches_lists_the_builtin_patches_and_the_gm_map():
    r = run_cli("patches")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for name in builtin_names():
        assert any(ln.startswith(f"  {name} ") for ln in lines), name
    bank = gm_bank()
    for program in range(128):
        row = f"  {program + 1:3d}  {PROGRAM_NAMES[program]:<26}{bank[program].name}"
        assert row in lines, row
    kit = drum_kit()
    for note, name in DRUM_KEY_NAMES.items():
        row = f"  {note:3d}  {name:<26}{kit[note].name if note in kit else '(silent)'}"
        assert row in lines, row


def test_info_shows_programs_from_1_with_gm_names():
    r = run_cli("info", demo_song_path())
    assert r.returncode == 0, r.stderr
    # the demo's channels 1-5 select GM programs 5, 34, 82, 15, 90 (0-based 4, 33, 81, 14, 89)
    for text in ("program 5 Electric Piano 1", "program 34 Electric Bass (finger)", "program 82 Lead 2 (sawtooth)",
                 "program 15 Tubular Bells", "program 90 Pad 2 (warm)", "program 1 Standard Kit"):
        assert text in r.stdout, (text, r.stdout)


@pytest.fixture
def no_ray_env(tmp_path):
    # Ray finds "auto" clusters through files under the temp dir: an empty one has none
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["TMPDIR"] = str(tmp_path)
    (tmp_path / "jobs.jsonl").write_text('{"note": 60, "patch": "E.Piano", "output": "a.wav"}\n')
    return env


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address, says", [
    ("auto", "(Could not find any running Ray instance)"),
    (None, "Connection refused"),
])
def test_ray_address_without_a_cluster_is_one_line(tmp_path, no_ray_env, address, says):
    address = address or f"127.0.0.1:{_closed_port()}"
    r = run_cli("batch", tmp_path / "jobs.jsonl", "--backend", "ray", "--ray-address", address, cwd=tmp_path,
                env=no_ray_env)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr[-3000:]
    assert lines[0].startswith(f"fmcore: error: no Ray cluster at --ray-address {address}") and says in lines[0]
    assert not (tmp_path / "a.wav").exists()
