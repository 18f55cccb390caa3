"""The FM engine: spectra against Bessel functions, envelopes, graphs, voices, timing, long runs, bad input."""
import json
import math

import numpy as np
import pytest
from scipy.signal import hilbert
from scipy.special import jv

import fmcore
from fmcore import Envelope, Operator, Patch, PatchError, Synth

from pitch import estimate_hz

SR = 48000
FLAT = {"times": [0, 0, 0, 0.01], "levels": [1, 1, 1, 0]}   # instant on, full level, quick release


def two_op(index, fc=3000.0, fm=500.0):
    return Patch.from_dict({
        "operators": [{"fixed_hz": fc, "env": FLAT}, {"fixed_hz": fm, "env": FLAT}],
        "edges": [[2, 1, index]], "carriers": [[1, 1.0]]})


def render_note(patch, seconds=1.0, note=69, velocity=127, events=(), synth=None):
    s = synth or Synth(SR)
    s.set_patch(patch, 0)
    return s.render([(0.0, 0x90, note, velocity), *events], duration=seconds)[0].astype(np.float64)


def amplitude_at(x, hz):
    # integer-Hz tones over exactly 1 s: each sits on its own bin, no window needed
    spec = np.fft.rfft(x[:SR]) * 2 / SR
    return abs(spec[int(round(hz))])


# ---- spectra ------------------------------------------------------------------------

@pytest.mark.parametrize("index", [0.5, 1.0, 1.8, 3.0])
def test_sidebands_follow_bessel_functions(index):
    ref = amplitude_at(render_note(two_op(0.0)), 3000)     # the carrier alone gives the scale
    x = render_note(two_op(index))
    for k in range(0, 5):
        expected = abs(jv(k, index))
        if expected < 0.01:        # too close to a zero of J_k for a dB comparison
            continue
        for f in {3000 + 500 * k, 3000 - 500 * k}:
            measured = amplitude_at(x, f) / ref
            err_db = 20 * math.log10(measured / expected)
            assert abs(err_db) < 0.5, f"I={index} k={k} f={f}: {measured:.4f} vs J={expected:.4f} ({err_db:+.2f} dB)"


def harmonic_centroid(x, f0=500):
    """Power-weighted mean harmonic number: 1 for a pure sine, higher as harmonics grow."""
    spec = np.abs(np.fft.rfft(x[:SR])) ** 2
    h = spec[[f0 * k for k in range(1, 48)]]
    return float((np.arange(1, 48) * h).sum() / h.sum())


def test_feedback_raises_harmonic_content_monotonically():
    # up to pi radians: the DX7's strongest feedback setting
    cents = []
    for fb in [0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.5, math.pi]:
        p = Patch.from_dict({"operators": [{"fixed_hz": 500.0, "env": FLAT}], "carriers": [[1, 1.0]],
                             "feedback": [[1, 1, fb]]})
        cents.append(harmonic_centroid(render_note(p)))
    assert cents[0] == pytest.approx(1.0, abs=1e-6)
    assert all(b > a for a, b in zip(cents, cents[1:])), cents


# ---- envelopes ----------------------------------------------------------------------

def env_db(x):
    a = np.abs(hilbert(x))
    return 20 * np.log10(np.maximum(a, 1e-12) / a.max())


def crossing(db, level, start, rising):
    seg = db[start:]
    idx = np.flatnonzero(seg >= level if rising else seg <= level)
    assert len(idx), f"never crossed {level} dB"
    return (start + idx[0]) / SR


def test_envelope_times_match_settings():
    attack, decay, release, hold = 0.1, 0.2, 0.3, 0.6
    env = {"times": [attack, decay, 0.0, release], "levels": [1.0, 0.5, 0.5, 0.0]}
    p = Patch.from_dict({"operators": [{"fixed_hz": 1000.0, "env": env}], "carriers": [[1, 1.0]]})
    x = render_note(p, seconds=1.2, events=[(hold, 0x80, 69, 0)])
    db = env_db(x)
    # attack: linear in dB from -96 to 0; extrapolate the measured slope to the whole segment
    t1, t2 = crossing(db, -60, 0, True), crossing(db, -3, 0, True)
    measured_attack = (t2 - t1) * 96 / 57
    assert measured_attack == pytest.approx(attack, rel=0.05)
    # decay: 0 dB -> -6.02 dB in `decay` seconds after the attack
    t3 = crossing(db, 20 * math.log10(0.5) + 0.1, int((attack + 0.005) * SR), False)
    assert t3 - attack == pytest.approx(decay, rel=0.05)
    # release: from -6.02 dB to -96 dB in `release` seconds
    t4, t5 = crossing(db, -12, int(hold * SR), False), crossing(db, -50, int(hold * SR), False)
    measured_release = (t5 - t4) * (96 + 20 * math.log10(0.5)) / 38
    assert measured_release == pytest.approx(release, rel=0.05)


def test_voice_retires_when_its_carriers_fall_silent():
    s = Synth(SR)
    p = Patch.from_dict({"operators": [{"env": {"times": [0, 0, 0, 0.05], "levels": [1, 1, 1, 0]}}]})
    s.set_patch(p)
    s.render([(0.0, 0x90, 60, 100), (0.1, 0x80, 60, 0)], duration=0.3)
    assert s.active_voices == 0 and s.voices() == []


# ---- graphs -------------------------------------------------------------------------

# number of carriers per DX7 algorithm, read off the algorithm chart independently of the table
DX7_CARRIER_COUNTS = [2, 2, 2, 2, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 3, 3, 4, 4, 4, 5, 5, 3, 3, 3, 4, 4, 5, 6]
DX7_FEEDBACK_OP = [6, 2, 6, 6, 6, 6, 6, 4, 2, 3, 6, 2, 6, 6, 2, 6, 2, 3, 6, 3, 3, 6, 6, 6, 6, 6, 3, 5, 6, 5, 6, 6]


@pytest.mark.parametrize("n", range(1, 33))
def test_every_dx7_algorithm_compiles_and_sounds(n):
    g = fmcore.algorithm(n, index=1.0, feedback=0.5)
    cg = g.compile()
    assert len(g.carriers) == DX7_CARRIER_COUNTS[n - 1]
    assert g.feedback[0][1] == DX7_FEEDBACK_OP[n - 1]
    pos = {op: i for i, op in enumerate(cg.order)}
    for s, d, _ in g.edges:
        assert pos[s - 1] < pos[d - 1], f"algorithm {n}: {s} must run before {d}"
        assert s > d, "on the DX7 chart a modulator always has a higher number than its target"
    # every operator reaches the output through edges
    reach = {c for c, _ in g.carriers}
    for _ in range(6):
        reach |= {s for s, d, _ in g.edges if d in reach}
    assert reach == set(range(1, 7))
    x = render_note(Patch.from_graph(g), seconds=0.1)
    assert np.isfinite(x).all() and np.abs(x).max() > 0.01


def test_non_feedback_cycle_is_refused_with_the_cycle_named():
    g = fmcore.Graph.make(3, [(1, 2), (2, 3), (3, 1)], [1])
    with pytest.raises(fmcore.GraphError, match=r"cycle 1 -> 2 -> 3 -> 1.*feedback edge"):
        g.compile()
    # the same loop is legal when the closing edge is declared as feedback
    fmcore.Graph.make(3, [(1, 2), (2, 3)], [3], feedback=[(3, 1, 0.5)]).compile()


def test_graph_errors_name_the_problem():
    with pytest.raises(fmcore.GraphError, match="operators 1..2"):
        fmcore.Graph.make(2, [(3, 1)], [1]).compile()
    with pytest.raises(fmcore.GraphError, match="no carrier"):
        fmcore.Graph.make(2, [(2, 1)], []).compile()
    with pytest.raises(fmcore.GraphError, match="1..12"):
        fmcore.Graph.make(13, [], [1]).compile()
    with pytest.raises(fmcore.GraphError, match="self-loop"):
        fmcore.Graph.make(2, [(2, 2)], [1]).compile()


def test_twelve_operator_chain_renders():
    ops = [{"ratio": 1.0 + 0.01 * i, "env": FLAT} for i in range(12)]
    p = Patch.from_dict({"operators": ops, "edges": [[i + 1, i, 0.3] for i in range(1, 12)], "carriers": [[1, 1]]})
    cg = p.validate()
    assert cg.order == tuple(range(11, -1, -1))
    x = render_note(p, seconds=0.2)
    assert np.isfinite(x).all() and np.abs(x).max() > 0.05


# ---- voices and events --------------------------------------------------------------

def sine_patch(**op):
    return Patch.from_dict({"operators": [{"env": FLAT, **op}], "carriers": [[1, 1.0]]})


def test_note_on_sounds_from_its_exact_frame():
    for k in (0, 1, 37, 255):
        s = Synth(SR, max_block=256)
        s.set_patch(sine_patch())
        out = np.zeros((2, 256), np.float32)
        s.process(out, [(k, 0x90, 69, 100)])
        assert not out[:, :k].any(), f"sound before frame {k}"
        if k + 1 < 256:
            assert np.all(out[:, k + 1] != 0), f"no sound at frame {k + 1}"


def test_queued_notes_at_absolute_sample_times():
    s = Synth(SR, max_block=128)
    s.set_patch(sine_patch())
    s.note_on(69, 100, at=300)          # third block, frame 44
    out = np.zeros((2, 512), np.float32)
    s.process(out)
    assert not out[:, :301].any() and out[0, 301] != 0


def test_seventeen_notes_on_sixteen_voices_steal_the_oldest():
    s = Synth(SR, max_voices=16)
    s.set_patch(sine_patch())
    ev = [(i * 0.01, 0x90, 40 + i, 100) for i in range(17)]
    s.render(ev, duration=0.3)
    assert s.active_voices == 16
    assert s.voices_stolen == 1
    notes = sorted(v["note"] for v in s.voices() if not v["fading"])
    assert notes == list(range(41, 57)), "the oldest note (40) must have been stolen"


def test_steal_prefers_released_then_quietest():
    s = Synth(SR, max_voices=4)
    s.set_patch(sine_patch(velocity_sens=1.0, env={"times": [0, 0, 0, 5.0], "levels": [1, 1, 1, 0]}))
    ev = [(0.00, 0x90, 60, 120), (0.01, 0x90, 62, 30), (0.02, 0x90, 64, 120), (0.03, 0x90, 65, 120),
          (0.05, 0x80, 64, 0),       # 64 released (long release, still sounding)
          (0.10, 0x90, 67, 120)]     # takes 64's voice although 60 is older and 62 quieter
    s.render(ev, duration=0.15)
    held = sorted(v["note"] for v in s.voices() if not v["fading"])
    assert held == [60, 62, 65, 67]
    s.render([(0.0, 0x90, 69, 120)], duration=0.05)        # no released voice: the quietest (62) goes
    held = sorted(v["note"] for v in s.voices() if not v["fading"])
    assert held == [60, 65, 67, 69]


def test_sustain_pedal_defers_release():
    env = {"times": [0, 0, 0, 0.02], "levels": [1, 1, 1, 0]}
    s = Synth(SR)
    s.set_patch(sine_patch(env=env))
    x = s.render([(0.0, 0xB0, 64, 127), (0.0, 0x90, 60, 100), (0.1, 0x80, 60, 0), (0.3, 0xB0, 64, 0)],
                 duration=0.5)[0]
    assert np.abs(x[int(0.25 * SR):int(0.29 * SR)]).max() > 0.05, "pedal down: the note must still sound"
    assert np.abs(x[int(0.4 * SR):]).max() == 0, "pedal up: the note must be released"


def test_pitch_bend_in_cents():
    p = sine_patch()
    p.bend_range = 2.0
    base = estimate_hz(render_note(p, seconds=0.5))
    assert base == pytest.approx(440.0, abs=0.01)
    bent = estimate_hz(render_note(p, seconds=0.5, events=[(0.0, 0xE0, 0, 96)])[SR // 10:])   # +0.5 -> +100 c
    cents = 1200 * math.log2(bent / base)
    assert cents == pytest.approx(200.0 * (96 * 128 - 8192) / 8191, abs=0.5)


def test_all_sound_off_and_all_notes_off():
    s = Synth(SR)
    s.set_patch(sine_patch())
    x = s.render([(0.0, 0x90, 60, 100), (0.0, 0x90, 64, 100), (0.1, 0xB0, 120, 0)], duration=0.2)[0]
    assert np.abs(x[int(0.11 * SR):]).max() == 0 and s.active_voices == 0


def test_master_gain_parameter_scales_output():
    s = Synth(SR)
    s.set_patch(sine_patch())
    s.params["master.gain"] = 0.5
    s.settle()
    x = s.render([(0.0, 0x90, 69, 127)], duration=0.2)[0]
    s2 = Synth(SR)
    s2.set_patch(sine_patch())
    y = s2.render([(0.0, 0x90, 69, 127)], duration=0.2)[0]
    assert np.abs(x).max() == pytest.approx(0.5 * np.abs(y).max(), rel=1e-3)
    assert "master.gain" in s.params.names() and "op12.level" in s.params.names()


def test_patch_switch_while_playing_frees_plans_off_the_audio_thread():
    s = Synth(SR, max_block=64)
    out = np.zeros((2, 64), np.float32)
    for i in range(200):
        s.set_patch(sine_patch(ratio=1 + (i % 3)), channel=i % 16)
        s.process(out, [(0, 0x90, 60, 100)] if i % 10 == 0 else [])
    s.set_patch(sine_patch())
    assert np.isfinite(out).all()


def test_one_hour_in_blocks_stays_finite_and_in_tune():
    s = Synth(SR, max_block=1024)
    s.set_patch(sine_patch())
    s.note_on(69, 100)
    block = np.zeros((2, SR), np.float32)
    t = np.arange(SR) / SR

    def phase_of(x):
        return np.angle(np.sum(x * np.exp(-2j * np.pi * 440 * t)))

    s.process(block)
    first = phase_of(block[0])
    bad = 0
    for _ in range(3599):
        s.process(block)
        bad += int(not np.isfinite(block).all())
    assert bad == 0
    assert estimate_hz(block[0]) == pytest.approx(440.0, abs=1e-3)
    drift = abs((phase_of(block[0]) - first + np.pi) % (2 * np.pi) - np.pi)
    assert drift < 1e-3, f"phase drifted {drift} rad after one hour"


# ---- bad input ----------------------------------------------------------------------

def test_bad_input_gives_clear_errors():
    s = Synth(SR)
    with pytest.raises(KeyError):
        s.params["nope.gain"] = 1.0
    with pytest.raises(ValueError, match="NaN|finite"):
        s.params["master.gain"] = float("nan")
    with pytest.raises(ValueError, match="note"):
        s.note_on(128, 100)
    with pytest.raises(ValueError, match="velocity"):
        s.note_on(60, -1)
    with pytest.raises(ValueError, match="channel"):
        s.note_on(60, 100, channel=16)
    with pytest.raises(ValueError, match="status"):
        s.process(np.zeros((2, 16), np.float32), [(0, 0x70, 1, 1)])
    with pytest.raises(ValueError, match="max_voices"):
        Synth(SR, max_voices=0)
    with pytest.raises(TypeError):
        s.set_patch({"operators": []})


def test_malformed_patch_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PatchError, match=r"bad\.json: not valid JSON"):
        Patch.load(bad)
    bad.write_text(json.dumps({"operators": [{"ratio": "two"}]}))
    with pytest.raises(PatchError, match=r"operators\[0\]\.ratio: expected a number"):
        Patch.load(bad)
    bad.write_text(json.dumps({"operators": [{"ratoi": 2}]}))
    with pytest.raises(PatchError, match="unknown field.*ratoi"):
        Patch.load(bad)
    bad.write_text(json.dumps({"operators": [{}], "carriers": [[2, 1]]}))
    with pytest.raises(PatchError, match="operator 2"):
        Patch.load(bad)
    with pytest.raises(PatchError, match="no such file"):
        Patch.load(tmp_path / "missing.json")


def test_patch_json_round_trip(tmp_path):
    p = Patch.from_graph(fmcore.algorithm(5, feedback=0.7), name="Round")
    p.operators[2].env = Envelope.adsr(0.01, 0.3, 0.4, 0.5)
    p.lfo.wave = "sample_hold"
    p.save(tmp_path / "p.json")
    q = Patch.load(tmp_path / "p.json")
    assert q == p
    a = render_note(p, seconds=0.3)
    b = render_note(q, seconds=0.3)
    assert np.array_equal(a, b)


def test_block_size_does_not_change_the_output():
    rng = np.random.default_rng(7)
    ev = []
    for i in range(40):
        t = float(rng.uniform(0, 1.5))
        note = int(rng.integers(40, 90))
        ev.append((t, 0x90, note, int(rng.integers(1, 128))))
        ev.append((t + float(rng.uniform(0.05, 0.5)), 0x80, note, 0))
    ev += [(0.3, 0xE0, 0, 80), (0.7, 0xB0, 7, 60), (0.9, 0xB0, 10, 20), (1.1, 0xB0, 64, 127), (1.4, 0xB0, 64, 0)]
    ev.sort()
    patch = Patch.from_graph(fmcore.algorithm(1, index=2.0, feedback=1.0),
                             [Operator(ratio=1 + k % 3, env=Envelope.adsr(0.01 * k, 0.2, 0.6, 0.1)) for k in range(6)])
    outs = []
    for block in (17, 64, 1024):
        s = Synth(SR, max_voices=8, max_block=block)
        s.set_patch(patch)
        outs.append(s.render(ev, duration=2.0))
    assert np.abs(outs[0]).max() > 0.05
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[1], outs[2])


def test_output_does_not_depend_on_when_playback_starts():
    """The same events after some silence give the same sound, shifted (free-running LFOs included)."""
    patch = Patch.from_dict({"operators": [{"env": FLAT, "ams": 1.0}, {"ratio": 2.0, "env": FLAT}],
                             "edges": [[2, 1, 1.0]],
                             "lfo": {"wave": "sine", "rate_hz": 3.7, "pitch_depth_cents": 30.0,
                                     "amp_depth_db": 6.0, "key_sync": False}})
    ev = [(0.0, 0x90, 60, 100), (0.31, 0x90, 67, 90), (0.8, 0x80, 60, 0), (1.0, 0x80, 67, 0)]
    shift = 5927
    outs = []
    for offset in (0, shift):
        s = Synth(SR)
        s.set_patch(patch)
        outs.append(s.render([(t + offset / SR, *rest) for t, *rest in ev], duration=1.5 + offset / SR))
    assert np.abs(outs[0]).max() > 0.05
    assert not outs[1][:, :shift].any()
    assert np.array_equal(outs[0], outs[1][:, shift:shift + outs[0].shape[1]])


@pytest.mark.parametrize("event", [(0x80, 60, 0), (0xE0, 0, 100), (0xB0, 7, 20), (0xB0, 10, 0), (0xB0, 1, 127)],
                         ids=["note_off", "bend", "volume", "pan", "mod_wheel"])
def test_release_and_controllers_act_from_their_exact_frame(event):
    """A note-off or controller at frame k changes the output from sample k on, never before."""
    patch = Patch.from_dict({"operators": [{"env": {"times": [0.0, 0.0, 0.0, 0.05], "levels": [1, 1, 1, 0]}}],
                             "lfo": {"rate_hz": 6.0, "pitch_depth_cents": 0.0},
                             "controllers": {"mod_wheel_pitch_cents": 200.0}})
    base = [(0, 0x90, 60, 100)]
    for k in (1000, 1013, 1031):                     # not on the voice's 32-sample control grid
        outs = []
        for ev in (base, base + [(k, *event)]):
            s = Synth(SR, max_block=4096)
            s.set_patch(patch)
            outs.append(s.process(np.zeros((2, 4096), np.float32), ev))
        diff = np.flatnonzero(np.abs(outs[0] - outs[1]).max(axis=0) > 0)
        assert len(diff), "the event changed nothing"
        assert k <= diff[0] <= k + 1, f"event at {k} first changed sample {diff[0]}"


def test_reset_all_controllers_acts_from_its_exact_frame():
    """CC121 after a bend and the mod wheel: the pitch returns at that sample (and a held
    voice's short control ticks do not keep the old targets)."""
    patch = Patch.from_dict({"operators": [{"env": {"times": [0.0, 0.0, 0.0, 0.05], "levels": [1, 1, 1, 0]}}],
                             "controllers": {"mod_wheel_pitch_cents": 200.0}})
    base = [(0, 0x90, 60, 100), (0, 0xE0, 0, 100), (0, 0xB0, 1, 127)]
    for k in (3000, 3013, 3031):
        outs = []
        for ev in (base, base + [(k, 0xB0, 121, 0)]):
            s = Synth(SR, max_block=8192)
            s.set_patch(patch)
            outs.append(s.process(np.zeros((2, 8192), np.float32), ev))
        diff = np.flatnonzero(np.abs(outs[0] - outs[1]).max(axis=0) > 0)
        assert len(diff), "the reset changed nothing"
        assert k <= diff[0] <= k + 1, f"CC121 at {k} first changed sample {diff[0]}"
