"""Bad input never crashes, hangs or prints a traceback: one line naming the file and the problem, exit 2.

Each case here was found by fuzzing (issue 14) and failed before its fix; anything that could
crash the interpreter runs in a child process.
"""
import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import fmcore
from fmcore import Patch, PatchError, algorithm

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SYX = DATA / "syx"
ROM1A = SYX / "dx7-rom1a_eurorack.syx"
ROM3A = SYX / "dx7-rom3a-out-of-range-params_eurorack.syx"
BAD_SUM = SYX / "dx7-rom1a-bad-checksum_msfa.syx"


def run_cli(*args, cwd=None, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "fmcore.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, **kw)


def one_error_line(r, *needles):
    """The CLI failed the way bad input must: exit 2, one 'fmcore: error:' line, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("fmcore: error: ") or ln.startswith("fmcore ")]
    assert errors, r.stderr
    for n in needles:
        assert n in r.stderr, (n, r.stderr)
    return errors


def run_python(code: str, timeout=120, **kw):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, **kw)


# ---- duplicate edges: merged, never past the plan's fixed capacity -------------------------------------

def test_duplicate_edges_are_merged_and_render_like_their_sum():
    # 457 copies of a modulation edge and 300 of a feedback edge overflowed the compiled plan
    # (144 slots each): SIGSEGV / SIGBUS / heap corruption at render time.
    r = run_python("""
        import numpy as np, fmcore
        from fmcore import Patch, algorithm
        def render(p):
            s = fmcore.Synth(48000)
            s.set_patch(p)
            return s.render([(0.0, 0x90, 60, 100), (0.3, 0x80, 60, 0)], duration=0.4)
        dup = Patch.from_graph(algorithm(1))
        dup.edges = dup.edges + [[2, 1, 0.01]] * 457
        dup.feedback = [[6, 6, 0.01]] * 300
        one = Patch.from_graph(algorithm(1))
        one.edges = one.edges + [[2, 1, 4.57]]
        one.feedback = [[6, 6, 3.0]]
        a, b = render(dup), render(one)
        assert np.isfinite(a).all() and np.abs(a).max() > 0.01
        print(float(np.abs(a - b).max()))
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    assert float(r.stdout) < 1e-3, "merged duplicates sound like one edge of the summed amount"


def test_duplicates_whose_sum_is_out_of_range_are_refused_by_name():
    p = Patch.from_graph(algorithm(1))
    p.edges = p.edges + [[2, 1, 1.0]] * 457
    with pytest.raises(PatchError, match=r"edge 2->1 is listed 458 times.*outside \[-64, 64\]"):
        p.validate()
    p = Patch.from_graph(algorithm(1))
    p.feedback = [[6, 6, 1.0]] * 300
    with pytest.raises(PatchError, match=r"feedback edge 6->6 is listed 300 times.*sum 300"):
        fmcore.Synth(48000).set_patch(p)
    g = fmcore.Graph.make(2, [(2, 1)], [(1, 10.0)] * 3)
    with pytest.raises(fmcore.GraphError, match="carrier 1 is listed 3 times"):
        g.compile()


def test_batch_records_an_overflowing_patch_as_failed_and_goes_on(tmp_path):
    p = Patch.from_graph(algorithm(1))
    p.feedback = [[6, 6, 1.0]] * 300
    (tmp_path / "fb.json").write_text(json.dumps(p.to_dict()))
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text(json.dumps({"id": "bad", "note": 60, "hold": 0.1, "release": 0.1, "patch": "fb.json",
                                    "output": "bad.wav"}) + "\n" +
                        json.dumps({"id": "good", "note": 60, "hold": 0.1, "release": 0.1, "output": "good.wav"})
                        + "\n")
    r = run_cli("batch", manifest, "--workers", "1")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    recs = {x["id"]: x for x in map(json.loads, (tmp_path / "results.jsonl").read_text().splitlines())}
    assert recs["bad"]["status"] == "failed" and "listed 300 times" in recs["bad"]["error"]
    assert recs["good"]["status"] == "done" and (tmp_path / "good.wav").exists()
    assert not (tmp_path / "bad.wav").exists()


# ---- hostile patch JSON ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, needle", [
    ("[" * 1000 + "]" * 1000, "nested too deeply"),
    ('{"operators": [{"fixed_hz": 1' + "0" * 400 + "}]}", "out of range"),
    ('{"operators": [{}, {}], "edges": [[-Infinity, 1, 1.0]], "carriers": [[1, 1.0]]}', "whole numbers"),
    ('{"operators": [{}, {}], "edges": [[2, 1, 1e400]], "carriers": [[1, 1.0]]}', "must be finite"),
    ('{"operators": [{}, {}], "edges": [[2, 1, 1' + "0" * 400 + "]], \"carriers\": [[1, 1.0]]}", "out of range"),
    ('{"operators": [{}], "carriers": [[true, 1.0]]}', "whole numbers"),
    ('{"operators": [{}], "carriers": [[1.5, 1.0]]}', "whole numbers"),
    ('{"name": "x", "operators": [{"ratio": 1' + "0" * 5000 + "}]}", "not valid JSON"),
    (b'{"name": "\xff"}', "not UTF-8"),
])
def test_hostile_patch_json_is_one_clear_error(tmp_path, text, needle):
    path = tmp_path / "p.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(PatchError, match=needle) as err:
        Patch.load(path)
    assert str(err.value).startswith(str(path))
    r = run_cli("render", "--patch", path, "-o", tmp_path / "x.wav", "--tail", "0")
    one_error_line(r, needle, str(path))
    assert not (tmp_path / "x.wav").exists()


# ---- MIDI --------------------------------------------------------------------------------------------

def smf(*tracks: bytes, tpb: int = 96) -> bytes:
    out = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), tpb)
    for t in tracks:
        out += b"MTrk" + struct.pack(">I", len(t)) + t
    return out


def test_tempo_zero_is_skipped_with_a_warning(tmp_path):
    # 0 microseconds per beat divided by zero in render (also with --lenient) while `info` accepted the file
    track = (b"\x00\xff\x51\x03\x00\x00\x00" + b"\x00\x90\x3c\x64" + b"\x60\x80\x3c\x00" + b"\x00\xff\x2f\x00")
    path = tmp_path / "t0.mid"
    path.write_bytes(smf(track))
    for extra in ([], ["--lenient"]):
        r = run_cli("render", path, "-o", tmp_path / "t0.wav", "--tail", "0.1", *extra)
        assert r.returncode == 0, r.stderr
        assert "set-tempo event of 0 microseconds" in r.stderr and "Traceback" not in r.stderr
    x, sr = sf.read(tmp_path / "t0.wav")
    assert x.shape[0] == round((0.5 + 0.1) * sr), "the default 120 BPM applies: 96 ticks = 0.5 s"
    r = run_cli("info", path)
    assert r.returncode == 0 and "120.00 BPM" in r.stdout


def test_huge_delta_time_is_refused_before_any_allocation(tmp_path):
    # one delta time of 2^28 - 1 ticks: days of audio; the whole song was reserved up front
    # (MemoryError traceback, or the OOM killer). Run with a 3 GB address-space limit so the
    # old code fails with a MemoryError rather than taking the machine down.
    track = b"\x00\x90\x3c\x64" + b"\xff\xff\xff\x7f\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    path = tmp_path / "huge.mid"
    path.write_bytes(smf(track))
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))"
    cmd = [sys.executable, "-c", f"{limit}; import sys; from fmcore.cli import main; sys.exit(main())",
           "render", str(path), "-o", str(tmp_path / "huge.wav")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    one_error_line(r, "huge.mid", "more than the limit of 3.0 h", "damaged file", "--max-duration")
    r = subprocess.run(cmd[:3] + ["render", str(ROM1A.parent.parent / "midi" / "tiny-piano-cc64_music21-test14.mid"),
                                  "-o", str(tmp_path / "t.wav"), "--tail", "1e9"],
                       capture_output=True, text=True, timeout=120)
    one_error_line(r, "a tail of 1e+09 s", "--max-duration")
    assert sorted(os.listdir(tmp_path)) == ["huge.mid"], "nothing written"
    with pytest.raises(fmcore.FmcoreError, match="more than the limit"):
        fmcore.render_midi(path)
    with pytest.raises(fmcore.FmcoreError, match="more than the limit of 1.0 s"):
        fmcore.render_midi(DATA / "midi" / "tiny-piano-cc64_music21-test14.mid", max_duration=1.0)


@pytest.mark.parametrize("args, needle", [
    (["--block", "100000000"], "argument --block: expected a block size in frames in 1..8192"),
    (["--voices", "100000"], "argument --voices: expected a voice count in 1..256"),
    (["--rate", "1"], "argument --rate: expected a sample rate in Hz in 8000..384000"),
    (["--tail", "nan"], "argument --tail: expected a finite number >= 0"),
    (["--max-duration", "-1"], "argument --max-duration"),
])
def test_out_of_range_numbers_are_refused_by_the_parser(tmp_path, args, needle):
    r = run_cli("render", "-o", tmp_path / "x.wav", *args)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_api_refuses_out_of_range_render_arguments(tmp_path):
    demo = fmcore.render.demo_song_path()
    for kw, needle in (({"block": 100_000_000}, "block must be"), ({"max_voices": 100_000}, "max_voices must"),
                       ({"sample_rate": 10 ** 9}, "sample_rate must"), ({"tail": float("inf")}, "tail must")):
        with pytest.raises(fmcore.FmcoreError, match=needle):
            fmcore.render_midi_to_file(demo, tmp_path / "x.wav", **kw)
    assert list(tmp_path.iterdir()) == []


# ---- DX7 SysEx ---------------------------------------------------------------------------------------

def test_checksum_error_names_the_command_line_option(tmp_path):
    r = run_cli("render", "--patch", f"{BAD_SUM}:1", "-o", tmp_path / "x.wav", "--tail", "0")
    (line,) = one_error_line(r, "checksum mismatch", "--ignore-checksum")
    assert "strict=False" in line      # and the Python spelling, for API users


def test_a_bank_missing_only_its_final_f7_loads_with_a_warning(tmp_path):
    cut = tmp_path / "nof7.syx"
    cut.write_bytes(ROM1A.read_bytes()[:-1])
    bank = fmcore.load_bank(cut)                       # strict: the checksum still proves the data whole
    assert bank == fmcore.load_bank(ROM1A)
    assert any(f.kind == "unterminated" and "no closing F7" in str(f) for f in bank.report)
    for strict_flag in ([], ["--ignore-checksum"]):
        r = run_cli("bank", "list", cut, *strict_flag)
        assert r.returncode == 0 and "E.PIANO 1" in r.stdout and "no closing F7" in r.stderr, r.stderr
        r = run_cli("render", "--patch", f"{cut}:11", "-o", tmp_path / "x.wav", "--tail", "0", *strict_flag)
        assert r.returncode == 0 and "no closing F7" in r.stderr, r.stderr
    # a missing F7 with a damaged checksum is still a checksum error
    data = bytearray(ROM1A.read_bytes()[:-1])
    data[-1] ^= 1
    (tmp_path / "bad.syx").write_bytes(bytes(data))
    r = run_cli("bank", "list", tmp_path / "bad.syx")
    one_error_line(r, "checksum mismatch")


@pytest.mark.parametrize("voice, other", [(20, 2), (2, 20)])
def test_render_with_a_bank_voice_shows_what_loading_fixed(tmp_path, voice, other):
    r = run_cli("bank", "list", ROM3A)
    listed = [ln for ln in r.stderr.splitlines() if f"voice {voice} (" in ln]
    assert r.returncode == 0 and listed, r.stderr
    r = run_cli("render", "--patch", f"{ROM3A}:{voice}", "-o", tmp_path / "v.wav", "--tail", "0.1")
    assert r.returncode == 0, r.stderr
    warned = [ln for ln in r.stderr.splitlines() if ln.startswith("fmcore: warning:")]
    for ln in listed:
        assert ln in warned, "the clamp/mask findings of the voice, as `bank list` prints them"
    assert not any(f"voice {other} (" in ln for ln in warned), "only the chosen voice's findings"


def test_the_second_bank_of_a_dx7ii_file_is_reachable(tmp_path):
    from fmcore.dx7.model import voice_to_patch
    from fmcore.dx7.sysex import bank_to_sysex
    from fmcore.patchref import resolve_patch

    first = fmcore.load_bank(ROM1A)
    second = fmcore.load_bank(ROM3A, strict=False)
    two = tmp_path / "dx7ii.syx"
    two.write_bytes(ROM1A.read_bytes() + bank_to_sysex(list(second)))
    r = run_cli("bank", "list", two)
    assert r.returncode == 0, r.stderr
    assert "64 voices in 2 banks" in r.stdout and f"  33  {second.names[0]:<10}" in r.stdout
    assert resolve_patch(f"{two}:11") == voice_to_patch(first[10])
    assert resolve_patch(f"{two}:33") == voice_to_patch(second[0])
    assert resolve_patch(f"{two}:64") == voice_to_patch(second[31])
    assert len(resolve_patch(str(two))) == 64, "the whole file: program changes reach both banks"
    r = run_cli("render", "--patch", f"{two}:40", "-o", tmp_path / "v40.wav", "--tail", "0.1")
    assert r.returncode == 0, r.stderr
    x40 = fmcore.render_midi(fmcore.render.demo_song_path(), patches=voice_to_patch(second[7]), tail=0.1,
                             limit=True)
    got, _ = sf.read(tmp_path / "v40.wav", dtype="float32")
    assert np.abs(got.T - x40).max() < 2.0 ** -20, "voice 40 is voice 8 of the second bank"
    r = run_cli("render", "--patch", f"{two}:65", "-o", tmp_path / "x.wav")
    one_error_line(r, "voice 65 outside 1..64 (the file holds 2 banks of 32 voices)")
