"""Microtuning: Scala scales and keyboard maps, MIDI Tuning Standard SysEx, measured by frequency."""
import os
import subprocess
import sys

import mido
import numpy as np
import pytest

import fmcore
from fmcore import Patch
from fmcore.render import demo_song_path
from fmcore.tuning import (KeyboardMap, Scale, Tuning, TuningError, bulk_dump, equal_temperament, mts_changes,
                           single_note_change)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from pitch import cents, estimate_hz

SR = 48000
FLAT = {"times": [0.0, 0.0, 0.0, 0.05], "levels": [1.0, 1.0, 1.0, 0.0]}
C4 = 440.0 * 2 ** (-9 / 12)


def sine_patch():
    return Patch.from_dict({"operators": [{"env": FLAT}], "carriers": [[1, 1.0]]})


def measure(tuning, keys, channel=0):
    """Each key played alone on a sine patch: its measured frequency."""
    s = fmcore.Synth(SR, max_block=256)
    s.set_patch(sine_patch(), channel)
    s.set_tuning(tuning)
    out = {}
    for k in keys:
        x = s.render([(0.0, 0x90 | channel, k, 100), (1.0, 0x80 | channel, k, 0)], duration=1.0)
        out[k] = estimate_hz(x[0, SR // 20:])
        s.reset()
        s.set_tuning(tuning)
    return out


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


EDO19 = "! 19edo.scl\n!\n19 equal divisions of the octave\n 19\n!\n" + "".join(
    f" {1200 * (i + 1) / 19:.6f}\n" for i in range(18)) + " 2/1\n"

JUST = """! ji.scl
5-limit just major scale
 7
!
 9/8
 5/4
 4/3
 3/2
 5/3
 15/8
 2/1
"""

# white keys play the scale, black keys are unmapped; A4 (key 69, degree 5 = 5/3) is 440 Hz
JUST_KBM = """! white keys, A = 440
12
0
127
60
69
440.0
7
! mapping
0
x
1
x
2
3
x
4
x
5
x
6
"""


def test_19_edo_frequencies_within_a_tenth_of_a_cent(tmp_path):
    t = Tuning(Scale.load(write(tmp_path, "19edo.scl", EDO19)))
    keys = [48, 60, 61, 62, 69, 79, 80]
    got = measure(t, keys)
    for k in keys:
        want = C4 * 2 ** ((k - 60) / 19)
        assert abs(cents(got[k], want)) < 0.1, (k, got[k], want)


def test_just_intonation_with_a_keyboard_map(tmp_path):
    t = Tuning(Scale.load(write(tmp_path, "ji.scl", JUST)), KeyboardMap.load(write(tmp_path, "w.kbm", JUST_KBM)))
    c = 440.0 * 3 / 5
    want = {60: c, 62: c * 9 / 8, 64: c * 5 / 4, 65: c * 4 / 3, 67: c * 3 / 2, 69: 440.0, 71: c * 15 / 8,
            72: 2 * c, 55: c * 3 / 4}
    got = measure(t, list(want))
    for k, f in want.items():
        assert abs(cents(got[k], f)) < 0.1, (k, got[k], f)
    # a key the map leaves unmapped plays nothing
    s = fmcore.Synth(SR, max_block=256)
    s.set_tuning(t)
    assert np.abs(s.render([(0.0, 0x90, 61, 100)], duration=0.2)).max() == 0


def test_12_tet_scale_renders_the_demo_song_bit_for_bit(tmp_path):
    scl = write(tmp_path, "12tet.scl", "12-TET\n12\n" + "".join(f"{100 * (i + 1)}.0\n" for i in range(11)) + "2/1\n")
    plain = fmcore.render_midi(demo_song_path(), tail=0.5)
    tuned = fmcore.render_midi(demo_song_path(), tail=0.5, tuning=Tuning(Scale.load(scl)))
    assert np.array_equal(plain, tuned)
    assert np.array_equal(Tuning(Scale.load(scl)).pitches, np.arange(128.0))


@pytest.mark.parametrize("text, line, what", [
    ("desc\nseven\n100.0\n", 2, "expected the number of notes"),
    ("desc\n3\n100.0\n2/0\n1200.0\n", 4, "neither cents"),
    ("! c\ndesc\n 3\n100.0\nabc\n1200.0\n", 5, "neither cents"),
    ("desc\n4\n100.0\n200.0\n", 4, "declares 4 notes but only 2"),
    ("desc\n2\n100.0\n-3/2\n", 4, "must be positive"),
    ("desc\n2\n100.0\n1" + "0" * 400 + ".\n", 4, "not a finite number"),
    ("", 0, "empty scale file"),
])
def test_malformed_scale_is_one_error_with_file_and_line(tmp_path, text, line, what):
    p = write(tmp_path, "bad.scl", text)
    with pytest.raises(TuningError) as err:
        Scale.load(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}: ") and what in msg and "\n" not in msg
    if line:
        assert f"line {line}:" in msg


def test_cli_scale_and_malformed_scale(tmp_path):
    out = tmp_path / "o.wav"
    bad = write(tmp_path, "bad.scl", "desc\n3\n100.0\nfoo\n1200.0\n")
    r = subprocess.run([sys.executable, "-m", "fmcore.cli", "render", "-o", str(out), "--scale", str(bad)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2 and not out.exists()
    assert r.stderr.strip() == f"fmcore: error: {bad}: line 4: 'foo' is neither cents (with a period) nor a ratio n/d of positive integers"
    good = write(tmp_path, "19.scl", EDO19)
    r = subprocess.run([sys.executable, "-m", "fmcore.cli", "render", "-o", str(out), "--scale", str(good),
                        "--tail", "0.2"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.exists()


def test_tuning_per_part():
    # channel 1 in 19-EDO, channel 2 in 12-TET: the same key sounds at two pitches
    s = fmcore.Synth(SR, max_block=256)
    for ch in (0, 1):
        s.set_patch(sine_patch(), ch)
        s.control_change(10, 0 if ch == 0 else 127, channel=ch)       # hard left / right
    s.set_tuning(Tuning(equal_temperament(19)), channels=[0])
    x = s.render([(0.0, 0x90, 64, 100), (0.0, 0x91, 64, 100)], duration=1.0)
    assert abs(cents(estimate_hz(x[0, SR // 20:]), C4 * 2 ** (4 / 19))) < 0.1
    assert abs(cents(estimate_hz(x[1, SR // 20:]), C4 * 2 ** (4 / 12))) < 0.1


# ---- MIDI Tuning Standard ---------------------------------------------------------------

def test_mts_messages_parse():
    pitches = np.arange(128.0) + 0.25
    ch = mts_changes(bulk_dump(pitches))
    assert len(ch) == 128 and ch[69] == (0xFFFF, 69, 69.25, False)
    bad = bytearray(bulk_dump(pitches))
    bad[-2] ^= 1
    with pytest.raises(TuningError, match="checksum"):
        mts_changes(bytes(bad))
    assert mts_changes(single_note_change([(60, 60.5)])) == [(0xFFFF, 60, 60.5, True)]
    # scale/octave 1-byte, channels 1 and 2 only: C +10 cents, everything else -64..63 as sent
    msg = bytes([0xF0, 0x7E, 0x7F, 0x08, 0x08, 0x00, 0x00, 0x03] + [64 + 10] + [64] * 11 + [0xF7])
    ch = mts_changes(msg)
    assert (0x0003, 60, 60.1, False) in ch and (0x0003, 61, 61.0, False) in ch
    assert mts_changes(bytes([0xF0, 0x43, 0x00, 0x09, 0xF7])) is None            # a DX7 dump: not ours
    with pytest.raises(TuningError, match="declares 2 changes"):
        mts_changes(bytes([0xF0, 0x7F, 0x7F, 0x08, 0x02, 0x00, 0x02, 60, 60, 0, 0, 0xF7]))


def _mts_song(path, sysex_at, note_ticks, sysex):
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    events = [(sysex_at, mido.Message("sysex", data=sysex[1:-1]))]
    for on, off, key in note_ticks:
        events += [(on, mido.Message("note_on", note=key, velocity=100)),
                   (off, mido.Message("note_off", note=key, velocity=0))]
    events.sort(key=lambda e: e[0])        # stable: the SysEx goes before a note at the same tick
    now = 0
    for tick, msg in events:
        tr.append(msg.copy(time=tick - now))
        now = tick
    mid.save(path)


def test_bulk_dump_in_a_midi_file_retunes_the_notes_after_it(tmp_path):
    # 120 bpm, 480 ticks per beat: 960 ticks = 1 s. Quarter-tone-sharp dump at 1 s.
    pitches = np.arange(128.0) + 0.5
    path = tmp_path / "mts.mid"
    _mts_song(path, 960, [(0, 700, 69), (960, 1700, 69)], bulk_dump(pitches))
    # dry: the GM reverb send would carry the first note's tail under the second
    x = fmcore.render_midi(path, patches=sine_patch(), tail=0.2, params={"fx.send_reverb.mix": 0.0})[0]
    before = estimate_hz(x[SR // 20:int(0.7 * SR)])
    after = estimate_hz(x[SR + SR // 20:int(1.7 * SR)])
    assert abs(cents(before, 440.0)) < 0.1
    assert abs(cents(after, 440.0 * 2 ** (0.5 / 12))) < 0.1


def test_a_malformed_tuning_message_in_a_song_is_skipped_with_a_warning(tmp_path):
    # a bulk dump cut short after 08 01 (real files carry all sorts of SysEx): the song still
    # renders, in tune, and the warning names the file, the track and the tick
    path = tmp_path / "short-dump.mid"
    _mts_song(path, 0, [(0, 700, 69)], bytes([0xF0, 0x7E, 0x7F, 0x08, 0x01, 0x00, 0xF7]))
    x = fmcore.render_midi(path, patches=sine_patch(), tail=0.2, params={"fx.send_reverb.mix": 0.0})[0]
    assert abs(cents(estimate_hz(x[SR // 20:int(0.7 * SR)]), 440.0)) < 0.1
    out = tmp_path / "out.wav"
    r = subprocess.run([sys.executable, "-m", "fmcore.cli", "render", str(path), "-o", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.exists()
    assert "short-dump.mid" in r.stderr and "track 0 at tick 0" in r.stderr and "ignored" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_real_time_single_note_change_acts_at_its_exact_sample(tmp_path):
    F = 30011                               # not on a block or control-chunk boundary
    s = fmcore.Synth(SR, max_block=256)
    s.set_patch(sine_patch(), 0)
    ref = s.render([(0.0, 0x90, 69, 100)], duration=1.0)
    s.reset()
    s.set_patch(sine_patch(), 0)
    assert s.send_sysex(single_note_change([(69, 69.5)]), at=F) == 1
    x = s.render([(0.0, 0x90, 69, 100)], duration=1.0)
    assert np.array_equal(x[:, :F + 1], ref[:, :F + 1])         # nothing changes before the frame
    assert not np.array_equal(x[:, F + 1:F + 3], ref[:, F + 1:F + 3])
    assert abs(cents(estimate_hz(x[0, F + 1000:]), 440.0 * 2 ** (0.5 / 12))) < 0.1


def test_tuning_changes_run_without_allocating_under_the_checker():
    from fmcore_rt import rtcheck

    code = """
import json, numpy as np, fmcore
from fmcore.tuning import Tuning, equal_temperament, single_note_change
from fmcore_rt import rtcheck
s = fmcore.Synth(48000, max_block=128)
out = np.zeros((2, 128), np.float32)
s.process(out)
with rtcheck.watch() as r:
    for b in range(200):
        if b % 20 == 0:
            s.set_tuning(Tuning(equal_temperament(19 if b % 40 else 31)), retune_sounding=True)
            s.send_sysex(single_note_change([(60, 60.3), (64, 63.9)]))
            s.set_mpe(15 if b % 40 else 0)
        s.process(out, [(0, 0x91, 60, 100), (5, 0xE1, 0, 80), (9, 0xB1, 74, 100)] if b % 10 == 0 else None)
print(json.dumps({"active": r.active, "fn": r.by_function}))
"""
    proc = rtcheck.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=ROOT), timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    import json

    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["active"] and res["fn"] == {}


def test_midi_input_applies_mts_sysex_as_it_arrives():
    from fmcore.live import MidiInput

    s = fmcore.Synth(SR, max_block=256)
    s.set_patch(sine_patch(), 0)
    port = MidiInput.__new__(MidiInput)          # the real handler, without opening a port
    port.synth, port.channel, port.received, port.ignored = s, None, 0, 0
    port._on_message(mido.Message("sysex", data=single_note_change([(69, 69.5)])[1:-1]))
    port._on_message(mido.Message("note_on", note=69, velocity=100))
    port._on_message(mido.Message("sysex", data=[0x43, 0x10, 0x01]))          # not MTS: ignored
    assert (port.received, port.ignored) == (2, 1)
    x = s.render([], duration=1.0)
    assert abs(cents(estimate_hz(x[0, SR // 20:]), 440.0 * 2 ** (0.5 / 12))) < 0.1
