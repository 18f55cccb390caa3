"""Every snippet of README.md runs: each Python block as a script of its own, each `fmcore` line
of the shell blocks as a command, in a directory holding the files they name (song.mid,
rom1a.syx, jobs.jsonl built from the README's own example jobs), against a JACK dummy server
for the live ones. The few that need what no test machine has are listed, with the reason."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jack_server import JackServer, JackUnavailable

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DATA = ROOT.parent / "shared" / "data"
FMCORE = Path(sys.executable).with_name("fmcore")

# Lines that cannot run on a test machine, and why (matched against the line's start).
CANNOT_RUN = {
    'fmcore live --midi-in "Keystation"': "plays until Ctrl-C from a keyboard named Keystation",
    "fmcore batch jobs.jsonl --backend ray --ray-address auto": "needs a running Ray cluster",
    "fmcore live --mpe": "plays until Ctrl-C from an MPE controller",
}
# Machine-specific values in a README line, and what this machine has instead.
LOCAL = {"--device 3": "--device 0"}


def _blocks(lang: str) -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text[:m.start()].count("\n") + 1, m.group(1))
            for m in re.finditer(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)]


def _commands() -> list[tuple[int, str]]:
    out = []
    for line_no, block in _blocks("sh"):
        for i, line in enumerate(block.splitlines()):
            if line.startswith("fmcore"):
                out.append((line_no + 1 + i, line))
    return out


PYTHON = _blocks("python")
COMMANDS = _commands()


def test_the_readme_has_what_this_test_runs():
    assert len(PYTHON) >= 3 and len(COMMANDS) >= 12
    assert all(any(c.startswith(k) for _, c in COMMANDS) for k in CANNOT_RUN), "CANNOT_RUN names a line no longer there"
    first = _blocks("sh")[0][1].split()
    assert first[:2] == ["make", "demo"] and "make" in first[3:] and "test" in first, "the first commands"
    assert "make test" in (ROOT / ".ci" / "run").read_text(), ".ci/run runs the README's test command"


def test_no_example_overwrites_another_examples_output():
    outputs = []
    for _, line in COMMANDS:
        args = shlex.split(line, comments=True)
        if args[1:2] == ["render"]:
            if "-o" in args:
                outputs.append(args[args.index("-o") + 1])
            else:
                midi = next((a for a in args[2:] if a.endswith(".mid")), "demo.mid")
                outputs.append(Path(midi).stem + ".wav")
    for _, code in PYTHON:
        outputs += re.findall(r'render_midi_to_file\([^,]+,\s*"([^"]+)"', code)
    assert len(outputs) >= 5
    assert len(set(outputs)) == len(outputs), f"two examples write the same file: {outputs}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("readme")
    shutil.copy(DATA / "midi" / "tiny-damper-cc64_jazzsoft.mid", d / "song.mid")
    shutil.copy(DATA / "syx" / "dx7-rom1a_eurorack.syx", d / "rom1a.syx")
    # the two example jobs the README gives inline
    jobs = re.findall(r'`(\{"(?:note|midi)".*?\})`', README.read_text().replace("\n", " "), re.S)
    assert len(jobs) == 2, jobs
    (d / "jobs.jsonl").write_text("".join(json.dumps(json.loads(j)) + "\n" for j in jobs))
    _tuning_and_mpe_files(d)
    return d


def _tuning_and_mpe_files(d: Path) -> None:
    """The scales, keyboard maps and MPE file the microtuning examples name."""
    import mido

    steps = "\n".join(f"{1200 * k / 19:.5f}" for k in range(1, 19))
    (d / "19edo.scl").write_text(f"! 19edo.scl\n19 equal steps of the octave\n 19\n{steps}\n2/1\n")
    (d / "ji.scl").write_text("! ji.scl\n5-limit just major scale\n 7\n9/8\n5/4\n4/3\n3/2\n5/3\n15/8\n2/1\n")
    # the white keys onto the 7 degrees, A4 = 440 Hz, black keys unmapped
    (d / "white.kbm").write_text("! white.kbm\n12\n0\n127\n60\n69\n440.0\n7\n"
                                 + "\n".join("0 x 1 x 2 3 x 4 x 5 x 6".split()) + "\n")
    (d / "map.kbm").write_text("! map.kbm\n0\n0\n127\n60\n69\n440.0\n19\n")
    mid = mido.MidiFile()
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    # MPE Configuration Message on channel 1: a lower zone of 15 member channels
    tr += [mido.Message("control_change", channel=0, control=c, value=v) for c, v in ((101, 0), (100, 6), (6, 15))]
    tr += [mido.Message("note_on", channel=1, note=60, velocity=100),
           mido.Message("note_on", channel=2, note=64, velocity=100),
           mido.Message("pitchwheel", channel=1, pitch=2000, time=240),
           mido.Message("pitchwheel", channel=2, pitch=-3000, time=240),
           mido.Message("note_off", channel=1, note=60, time=480),
           mido.Message("note_off", channel=2, note=64)]
    mid.save(d / "mpe.mid")


@pytest.fixture(scope="module")
def env():
    srv = JackServer(48000, 128)
    try:
        srv.start()
    except JackUnavailable as e:
        srv.close()
        pytest.fail(f"a JACK server is required for the README's live snippets: {e}", pytrace=False)
    e = {k: v for k, v in srv.env.items() if k != "PYTHONPATH"}
    try:
        yield e
    finally:
        srv.close()


@pytest.mark.parametrize("line_no, code", PYTHON, ids=[f"README.md:{n}" for n, _ in PYTHON])
def test_python_snippet_runs(workdir, env, line_no, code):
    r = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"README.md line {line_no}:\n{code}\n{r.stderr[-3000:]}"


@pytest.mark.parametrize("line_no, line", COMMANDS, ids=[f"README.md:{n}" for n, _ in COMMANDS])
def test_shell_line_runs(workdir, env, line_no, line):
    for start, why in CANNOT_RUN.items():
        if line.startswith(start):
            pytest.skip(f"README.md:{line_no}: {why}")
    for readme, here in LOCAL.items():
        line = line.replace(readme, here)
    args = shlex.split(line, comments=True)
    if args[:3] == ["fmcore", "live", "--list-ports"]:
        # a MIDI port for it to list: a JACK MIDI sequencer client (jackd2's tools)
        seq = subprocess.Popen(["jack_midiseq", "fmcore-readme-keys", "48000", "0", "60", "1000"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            r = _run(args, workdir, env, retries=20)
        finally:
            seq.terminate()
            seq.wait(timeout=10)
        assert "fmcore-readme-keys" in r.stdout, r.stdout
        return
    _run(args, workdir, env)


def _run(args, cwd, env, retries=1):
    for attempt in range(retries):
        r = subprocess.run([str(FMCORE), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=300)
        if r.returncode == 0:
            return r
        if attempt + 1 < retries:
            import time
            time.sleep(0.25)        # the MIDI port may not be registered yet
    assert r.returncode == 0, f"{' '.join(args)}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r
