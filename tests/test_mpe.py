"""MPE: zones from the MPE Configuration Message, per-note bend, pressure and CC74, measured on
generated MPE files. Two member channels are panned hard left and right, so each channel of
the output holds one note and its frequency can be measured on its own."""

import mido
import numpy as np
import pytest

import fmcore
from fmcore import Patch

from pitch import cents, estimate_hz

SR = 48000
FLAT = {"times": [0.0, 0.0, 0.0, 0.05], "levels": [1.0, 1.0, 1.0, 0.0]}
C4 = 440.0 * 2 ** (-9 / 12)
G4 = 440.0 * 2 ** (-2 / 12)


def sine_patch():
    return Patch.from_dict({"operators": [{"env": FLAT}], "carriers": [[1, 1.0]]})


def fm_patch():
    return Patch.from_dict({"operators": [{"env": FLAT}, {"env": FLAT, "level": 0.5}],
                            "edges": [[2, 1, 2.0]], "carriers": [[1, 1.0]]})


def seg(x, a, b):
    return x[int(a * SR):int(b * SR)]


def rpn(ch, lsb, value):
    return [mido.Message("control_change", channel=ch, control=101, value=0),
            mido.Message("control_change", channel=ch, control=100, value=lsb),
            mido.Message("control_change", channel=ch, control=6, value=value)]


def mpe_file(path, timed, configure=True):
    """A type-0 file at 120 bpm (960 ticks = 1 s): optional lower-zone configuration, members
    1 and 2 panned apart, then ``timed`` = [(seconds, mido message)]."""
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    head = rpn(0, 6, 15) if configure else []
    head += [mido.Message("control_change", channel=1, control=10, value=0),
             mido.Message("control_change", channel=2, control=10, value=127)]
    events = [(0, m) for m in head] + [(round(t * 960), m) for t, m in timed]
    events.sort(key=lambda e: e[0])
    now = 0
    for tick, m in events:
        tr.append(m.copy(time=tick - now))
        now = tick
    mid.save(path)
    return path


def notes(t_off=1.5):
    return [(0.0, mido.Message("note_on", channel=1, note=60, velocity=100)),
            (0.0, mido.Message("note_on", channel=2, note=67, velocity=100)),
            (t_off, mido.Message("note_off", channel=1, note=60)),
            (t_off, mido.Message("note_off", channel=2, note=67))]


def render(path, patch=None, **kw):
    # dry: the shared GM reverb would mix each side's note into the other
    return fmcore.render_midi(path, patches={0: patch or sine_patch()}, tail=0.1,
                              params={"fx.send_reverb.mix": 0.0}, **kw)


def test_two_member_channels_bend_independently_with_the_48_semitone_range(tmp_path):
    path = mpe_file(tmp_path / "bend.mid", notes() + [
        (0.5, mido.Message("pitchwheel", channel=1, pitch=683)),
        (0.5, mido.Message("pitchwheel", channel=2, pitch=-1024))])
    x = render(path)
    left, right = x[0], x[1]
    assert abs(cents(estimate_hz(seg(left, 0.05, 0.45)), C4)) < 0.1
    assert abs(cents(estimate_hz(seg(right, 0.05, 0.45)), G4)) < 0.1
    up = 4800 * 683 / 8191
    down = -4800 * 1024 / 8192
    assert abs(cents(estimate_hz(seg(left, 0.55, 1.45)), C4) - up) < 0.1
    assert abs(cents(estimate_hz(seg(right, 0.55, 1.45)), G4) - down) < 0.1


def test_without_a_zone_the_same_bend_uses_the_patch_range(tmp_path):
    path = mpe_file(tmp_path / "plain.mid", notes() + [(0.5, mido.Message("pitchwheel", channel=1, pitch=683))],
                    configure=False)
    p = sine_patch()
    p.bend_range = 2.0
    x = fmcore.render_midi(path, patches=p, tail=0.1)
    assert abs(cents(estimate_hz(seg(x[0], 0.55, 1.45)), C4) - 200 * 683 / 8191) < 0.1
    # and `--mpe` (render_midi(mpe=True)) configures the lower zone without a message in the file
    x = render(path, mpe=True)
    assert abs(cents(estimate_hz(seg(x[0], 0.55, 1.45)), C4) - 4800 * 683 / 8191) < 0.1


def test_manager_bend_moves_the_whole_zone_and_rpn0_sets_the_member_range(tmp_path):
    timed = notes(2.5) + [(0.5, m) for m in rpn(2, 0, 24)] + [
        (0.6, mido.Message("pitchwheel", channel=1, pitch=4096)),
        (1.5, mido.Message("pitchwheel", channel=0, pitch=8191))]
    x = render(mpe_file(tmp_path / "mgr.mid", timed))
    member = 2400 * 4096 / 8191                        # RPN 0 on member 2 set 24 semitones for the zone
    assert abs(cents(estimate_hz(seg(x[0], 0.65, 1.45)), C4) - member) < 0.1
    assert abs(cents(estimate_hz(seg(x[1], 0.65, 1.45)), G4)) < 0.1
    assert abs(cents(estimate_hz(seg(x[0], 1.55, 2.45)), C4) - member - 200) < 0.1   # manager: +2 semitones
    assert abs(cents(estimate_hz(seg(x[1], 1.55, 2.45)), G4) - 200) < 0.1


def _centroid(x):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float((spec * f).sum() / spec.sum())


def test_cc74_and_pressure_act_per_note(tmp_path):
    base = render(mpe_file(tmp_path / "a.mid", notes()), fm_patch())
    x = render(mpe_file(tmp_path / "b.mid", notes() + [
        (0.5, mido.Message("control_change", channel=1, control=74, value=127))]), fm_patch())
    np.testing.assert_array_equal(x[1], base[1])                    # the other note is untouched
    assert np.array_equal(x[0][:int(0.5 * SR)], base[0][:int(0.5 * SR)])
    assert _centroid(seg(x[0], 0.6, 1.4)) > _centroid(seg(base[0], 0.6, 1.4)) * 1.2   # brighter

    # pressure drives the patch's aftertouch depth (here: LFO vibrato) on its own note only
    p = sine_patch()
    p.controllers.aftertouch_pitch_cents = 100.0
    base = render(mpe_file(tmp_path / "c.mid", notes()), p)
    x = render(mpe_file(tmp_path / "d.mid", notes() + [
        (0.5, mido.Message("aftertouch", channel=2, value=127))]), p)
    np.testing.assert_array_equal(x[0], base[0])
    half = int(0.5 * SR)
    assert np.array_equal(x[1][:half], base[1][:half])
    assert np.abs(seg(x[1], 0.6, 1.4) - seg(base[1], 0.6, 1.4)).max() > 0.05


def test_member_channels_play_the_manager_patch_and_pedal(tmp_path):
    # only channel 1 (the manager) has the sine patch; members sound it too; the manager's
    # sustain pedal holds both member notes past their note-offs
    timed = notes(0.5) + [(0.2, mido.Message("control_change", channel=0, control=64, value=127)),
                          (1.0, mido.Message("control_change", channel=0, control=64, value=0))]
    x = render(mpe_file(tmp_path / "ped.mid", timed))
    left = seg(x[0], 0.6, 0.9)
    assert np.abs(left).max() > 0.05, "the pedal on the manager channel holds the member notes"
    spec = np.abs(np.fft.rfft(left * np.hanning(len(left))))
    f = np.fft.rfftfreq(len(left), 1 / SR)
    assert spec[f > 1.5 * C4].max() < spec.max() * 1e-3                # a pure sine: the manager's patch


def test_two_zones_split_the_channels():
    s = fmcore.Synth(SR, max_block=256)
    s.set_patch(sine_patch(), 0)
    s.set_patch(sine_patch(), 15)
    s.set_mpe(lower=7, upper=7)
    s.control_change(10, 0, channel=7)       # lower zone's last member: left
    s.control_change(10, 127, channel=8)     # upper zone's last member: right
    bend = 4096 / 8191 * 4800                # (0x60 << 7) - 8192 = 4096
    x = s.render([(0.0, 0x97, 60, 100), (0.0, 0xE7, 0, 0x60),
                  (0.0, 0x98, 60, 100), (0.0, 0xE8, 0, 0x60), (0.0, 0xEF, 0x7F, 0x7F)], duration=0.5)
    assert abs(cents(estimate_hz(seg(x[0], 0.05, 0.45)), C4) - bend) < 0.1
    assert abs(cents(estimate_hz(seg(x[1], 0.05, 0.45)), C4) - bend - 200) < 0.1   # + upper manager's bend
    with pytest.raises(ValueError, match="overlap"):
        s.set_mpe(lower=8, upper=8)


def test_member_channel_10_plays_the_zone_patch_not_the_drum_kit(tmp_path):
    # the built-in setup puts the GM drum kit on channel 10, a member of a 15-channel lower zone
    path = mpe_file(tmp_path / "ch10.mid", [(0.0, mido.Message("note_on", channel=9, note=60, velocity=100)),
                                            (0.5, mido.Message("note_off", channel=9, note=60))])
    x = render(path)
    assert abs(cents(estimate_hz(seg(x[0], 0.05, 0.45)), C4)) < 0.1
