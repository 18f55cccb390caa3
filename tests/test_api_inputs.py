"""What Python audio users hand the API: MIDI as path, bytes, file object or mido.MidiFile;
events as mido messages or tuples; a DX7 voice where a patch goes."""
import io
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

import fmcore
from fmcore.dx7.model import voice_to_patch
from fmcore.midi import MidiFileError, read_midi
from fmcore.presets import builtin_patch
from fmcore.render import demo_song_path

ROOT = Path(__file__).resolve().parents[1]
SYX = ROOT.parent / "shared" / "data" / "syx" / "dx7-rom1a_eurorack.syx"
SR = 48000


def _short_song() -> mido.MidiFile:
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.Message("program_change", program=4, time=0))
    tr.append(mido.Message("note_on", note=60, velocity=100, time=0))
    tr.append(mido.Message("note_on", note=64, velocity=90, time=240))
    tr.append(mido.Message("note_off", note=60, time=240))
    tr.append(mido.Message("note_off", note=64, time=240))
    return mid


# ---- render_midi: path, bytes, file object, mido.MidiFile ---------------------------------------

def test_render_midi_takes_bytes_file_objects_and_mido_files(tmp_path):
    path = tmp_path / "short.mid"
    _short_song().save(str(path))
    ref = fmcore.render_midi(path, tail=0.3)
    assert np.abs(ref).max() > 0.05
    data = path.read_bytes()
    with open(path, "rb") as f:
        from_file = fmcore.render_midi(f, tail=0.3)
    for got in (fmcore.render_midi(data, tail=0.3), fmcore.render_midi(bytearray(data), tail=0.3),
                fmcore.render_midi(io.BytesIO(data), tail=0.3), from_file,
                fmcore.render_midi(mido.MidiFile(str(path)), tail=0.3),
                fmcore.render_midi(_short_song(), tail=0.3), fmcore.render_midi(str(path), tail=0.3)):
        assert got.shape == ref.shape
        assert np.array_equal(got, ref)


def test_render_midi_to_file_takes_bytes(tmp_path):
    import soundfile as sf

    data = demo_song_path().read_bytes()
    report = fmcore.render_midi_to_file(data, tmp_path / "out.wav", tail=0.1)
    assert report.path == "<bytes>"
    assert sf.info(str(tmp_path / "out.wav")).duration > 20


def test_errors_name_what_was_given():
    with pytest.raises(MidiFileError, match=r"^<bytes>: missing MThd header"):
        fmcore.render_midi(b"RIFF nonsense")
    buf = io.BytesIO(b"MThd\x00\x00")
    buf.name = "upload.mid"
    with pytest.raises(MidiFileError, match=r"^upload.mid: truncated"):
        read_midi(buf)
    with open(demo_song_path(), "r", encoding="latin-1") as text:
        with pytest.raises(TypeError, match="binary mode"):
            read_midi(text)
    with pytest.raises(TypeError, match="a path, bytes, a binary file object or a mido.MidiFile, got int"):
        fmcore.render_midi(42)


def test_a_loaded_mido_file_keeps_its_name(tmp_path):
    path = tmp_path / "named.mid"
    _short_song().save(str(path))
    song = read_midi(mido.MidiFile(str(path)))
    assert song.path == str(path)
    assert read_midi(_short_song()).path == "<MidiFile>"


# ---- events: mido messages as well as tuples ----------------------------------------------------

def _synth():
    s = fmcore.Synth(SR, max_voices=8, max_block=256)
    s.set_patch(builtin_patch("E.Piano"))
    s.settle()
    return s


def test_process_takes_mido_messages_with_frame_offsets():
    tuples = [(0, 0x90, 60, 100), (100, 0xB0, 1, 64), (200, 0xE0, 0, 80), (300, 0x80, 60, 0)]
    msgs = [mido.Message("note_on", note=60, velocity=100, time=0),
            mido.Message("control_change", control=1, value=64, time=100),
            mido.Message("pitchwheel", pitch=(80 << 7) - 8192, time=200),
            mido.Message("note_off", note=60, velocity=0, time=300)]
    assert [tuple(m.bytes()) for m in msgs][2] == (0xE0, 0, 80)
    a = _synth().process(np.zeros((2, 512), np.float32), tuples)
    b = _synth().process(np.zeros((2, 512), np.float32), msgs)
    mixed = _synth().process(np.zeros((2, 512), np.float32), [msgs[0], tuples[1], msgs[2], tuples[3]])
    assert np.abs(a).max() > 0.01
    assert np.array_equal(a, b) and np.array_equal(a, mixed)


def test_render_takes_mido_messages_in_seconds():
    tuples = [(0.0, 0x90, 60, 100), (0.25, 0xC0, 5, 0), (0.5, 0x80, 60, 0)]
    msgs = [mido.Message("note_on", note=60, velocity=100, time=0.0),
            mido.Message("program_change", program=5, time=0.25),
            mido.Message("note_off", note=60, time=0.5)]
    a = _synth().render(tuples, duration=1.0)
    b = _synth().render(msgs, duration=1.0)
    assert np.abs(a).max() > 0.01 and np.array_equal(a, b)


def test_message_errors_are_clear():
    s = _synth()
    out = np.zeros((2, 256), np.float32)
    with pytest.raises(ValueError, match=r"event 0: message time 0.5 is not a whole frame offset"):
        s.process(out, [mido.Message("note_on", note=60, time=0.5)])
    with pytest.raises(ValueError, match=r"event 1: a 'set_tempo' message is not a MIDI channel message"):
        s.process(out, [mido.Message("note_on", note=60), mido.MetaMessage("set_tempo", tempo=500000)])
    with pytest.raises(ValueError, match=r"event 0: a 'clock' message is not a MIDI channel message"):
        s.render([mido.Message("clock", time=0.1)])
    with pytest.raises(ValueError, match=r"frame offset 256 outside the block"):
        s.process(out, [mido.Message("note_on", note=60, time=256)])


def test_fmcore_rt_takes_message_objects_without_mido_or_fmcore():
    """fmcore_rt duck-types: any object with bytes() and time is a message; mido is not imported."""
    code = """
import sys
sys.modules["mido"] = None          # importing mido would fail
import numpy as np
from fmcore_rt.messages import message_rows
from fmcore_rt.rtcheck._selftest import CleanProcessor

class Msg:
    def __init__(self, data, time):
        self.data, self.time = data, time
    def bytes(self):
        return list(self.data)

rows = message_rows([Msg([0x90, 60, 100], 3), (5, 0x80, 60, 0), Msg([0xC1, 7], 9)], frames=True)
assert rows == [(3, 0x90, 60, 100), (5, 0x80, 60, 0), (9, 0xC1, 7, 0)], rows
p = CleanProcessor()
p.prepare(48000, 64)
p.process(np.zeros((2, 64), np.float32), [Msg([0x90, 60, 100], 3), (5, 0x80, 60, 0)])
try:
    p.process(np.zeros((2, 64), np.float32), [Msg([0x90, 60, 100], 64)])
    raise SystemExit("a message past the block was accepted")
except ValueError as e:
    assert "frame offset 64 outside the block" in str(e), e
assert not [m for m in sys.modules if m == "fmcore" or m.startswith("fmcore.")], "fmcore imported"
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


# ---- set_patch / set_bank take DX7 voices ------------------------------------------------------

def _note(s):
    return s.render([(0.0, 0x90, 60, 100), (0.4, 0x80, 60, 0)], duration=0.8)


def test_set_patch_takes_a_dx7_voice():
    bank = fmcore.load_bank(SYX)
    a, b = fmcore.Synth(SR, max_voices=4), fmcore.Synth(SR, max_voices=4)
    a.set_patch(bank[10])
    b.set_patch(voice_to_patch(bank[10]))
    a.settle()
    b.settle()
    x, y = _note(a), _note(b)
    assert np.abs(x).max() > 0.01 and np.array_equal(x, y)


def test_set_bank_takes_a_dx7_bank():
    bank = fmcore.load_bank(SYX)
    a, b = fmcore.Synth(SR, max_voices=4), fmcore.Synth(SR, max_voices=4)
    a.set_bank(bank)
    b.set_bank([voice_to_patch(v) for v in bank])
    for s in (a, b):
        s.program_change(10)
        s.settle()
    x, y = _note(a), _note(b)
    assert np.abs(x).max() > 0.01 and np.array_equal(x, y)


def test_set_patch_refuses_other_things_clearly():
    s = fmcore.Synth(SR, max_voices=4)
    with pytest.raises(TypeError, match=r"set_patch: expected a fmcore.Patch or a DX7 voice \(bank\[i\]\), got str"):
        s.set_patch("E.Piano")
    with pytest.raises(TypeError, match=r"bank entry 1: expected a fmcore.Patch or a DX7 voice"):
        s.set_bank([builtin_patch("E.Piano"), 3])


@pytest.mark.parametrize("at, error", [(-5, ValueError), (2**70, ValueError), (1.5, ValueError),
                                       (float("nan"), ValueError), ("soon", TypeError)])
def test_event_times_out_of_range_are_refused_clearly(at, error):
    from fmcore.tuning import single_note_change

    s = fmcore.Synth(48000)
    for call in (lambda: s.note_on(60, 100, at=at), lambda: s.send(0xB0, 7, 100, at=at),
                 lambda: s.send_sysex(single_note_change([(60, 60.5)]), at=at)):
        with pytest.raises(error, match=r"at must be a sample time"):
            call()
    assert s.note_on(60, 100, at=np.int64(480)) and s.send(0x80, 60, 0, at=480.0)


def test_render_refuses_a_duration_no_array_could_hold():
    s = fmcore.Synth(48000)
    with pytest.raises(ValueError, match=r"too long to render into one array.*render_midi_to_file"):
        s.render([], duration=1e12)
    with pytest.raises(ValueError, match=r"too long to render into one array"):
        s.render([(1e9, 0x90, 60, 100)])
