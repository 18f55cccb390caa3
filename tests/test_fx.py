"""The effects chain (issue 7): every figure here is measured on the real chain.

Delay time to the sample, reverb RT60 by Schroeder backward integration,
filter -3 dB points, limiter ceiling on hot signals, bit-exact bypass,
click-free toggling (per-sample step bound), parameters, extreme settings.
"""
import threading

import numpy as np
import pytest

from fmcore.fx import DEFAULT_ORDER, EFFECTS, CROSSFADE_SECONDS, EffectsProcessor, FxChain
from fmcore_rt import AtomicParams

SR = 48000
XF = round(CROSSFADE_SECONDS * SR)       # crossfade length in frames


def make(effect, sr=SR, block=256, order=DEFAULT_ORDER, **params):
    """A processor with only `effect` enabled, params applied without ramps, state clear."""
    p = EffectsProcessor(sr, block, order)
    for k, v in params.items():
        p.params[f"fx.{effect}.{k}"] = v
    p.chain.enable(effect)
    p.reset()
    return p


def stereo(x):
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = np.stack([x, x])
    return np.ascontiguousarray(x, dtype=np.float32)


def run(proc, x):
    buf = stereo(x).copy()
    proc.process(buf)
    return buf


def rt60(ir):
    """RT60 from an (channels, n) impulse response: Schroeder EDC, line fit from -5 to -35 dB."""
    e = (np.asarray(ir, np.float64) ** 2).sum(axis=0)
    edc = np.cumsum(e[::-1])[::-1]
    db = 10 * np.log10(edc / edc[0])
    idx = np.flatnonzero((db <= -5) & (db >= -35))
    assert len(idx) > 100, "impulse response too short to reach -35 dB"
    slope = np.polyfit(idx / SR, db[idx], 1)[0]
    return -60.0 / slope


def gain_db_at(h, f, sr=SR):
    """Magnitude of the frequency response of impulse response h at f Hz (exact DFT sum)."""
    n = np.arange(len(h))
    return 20 * np.log10(abs(np.sum(np.asarray(h, np.float64) * np.exp(-2j * np.pi * f * n / sr))))


def impulse(n, at=0, amp=1.0):
    x = np.zeros(n)
    x[at] = amp
    return x


# ---- parameters and the enabled mask ------------------------------------------------

EXPECTED = {
    "fx.tempo_bpm": (20, 300, 120),
    "fx.filter.mode": (0, 2, 0),
    "fx.filter.cutoff_hz": (20, 20000, 1000),
    "fx.filter.resonance": (0, 1, 0),
    "fx.drive.drive_db": (0, 48, 12),
    "fx.drive.output_db": (-24, 12, 0),
    "fx.drive.mix": (0, 1, 1),
    "fx.eq.low_freq_hz": (20, 2000, 200),
    "fx.eq.low_gain_db": (-24, 24, 0),
    "fx.eq.mid_freq_hz": (50, 16000, 1000),
    "fx.eq.mid_gain_db": (-24, 24, 0),
    "fx.eq.mid_q": (0.1, 10, 0.7071),
    "fx.eq.high_freq_hz": (1000, 20000, 5000),
    "fx.eq.high_gain_db": (-24, 24, 0),
    "fx.chorus.rate_hz": (0.01, 10, 0.8),
    "fx.chorus.depth_ms": (0, 10, 2),
    "fx.chorus.delay_ms": (1, 30, 8),
    "fx.chorus.feedback": (-0.9, 0.9, 0),
    "fx.chorus.mix": (0, 1, 0.5),
    "fx.delay.time_ms": (1, 2000, 375),
    "fx.delay.sync": (0, 1, 0),
    "fx.delay.beats": (0.0625, 4, 0.75),
    "fx.delay.feedback": (0, 0.98, 0.35),
    "fx.delay.damping": (0, 1, 0.2),
    "fx.delay.mix": (0, 1, 0.3),
    "fx.delay.pingpong": (0, 1, 0),
    "fx.reverb.decay": (0.1, 20, 2),
    "fx.reverb.size": (0, 1, 0.5),
    "fx.reverb.damping": (0, 1, 0.3),
    "fx.reverb.predelay_ms": (0, 250, 10),
    "fx.reverb.mix": (0, 1, 0.25),
    "fx.reverb.width": (0, 1, 1),
    "fx.compressor.threshold_db": (-60, 0, -18),
    "fx.compressor.ratio": (1, 20, 4),
    "fx.compressor.attack_ms": (0.1, 200, 10),
    "fx.compressor.release_ms": (5, 2000, 120),
    "fx.compressor.knee_db": (0, 24, 6),
    "fx.compressor.makeup_db": (0, 24, 0),
    "fx.limiter.ceiling_db": (-24, 0, -1),
    "fx.limiter.release_ms": (1, 1000, 60),
    "fx.limiter.gain_db": (0, 24, 0),
}


def test_every_parameter_is_registered_with_its_range():
    params = AtomicParams()
    for i in range(30):                      # the synth registers its slots first
        params.add(f"synth.p{i}", 0, 1, 0)
    chain = FxChain(params)
    fx_names = [n for n in params.names() if n.startswith("fx.")]
    assert sorted(fx_names) == sorted(EXPECTED)
    assert chain.param_names() == fx_names
    assert len(fx_names) < 70
    for name, (lo, hi, default) in EXPECTED.items():
        spec = params.spec(name)
        assert spec.index >= 30
        assert spec.min == pytest.approx(lo) and spec.max == pytest.approx(hi)
        assert spec.default == pytest.approx(default)
        assert params[name] == pytest.approx(default)
    # continuous parameters are smoothed; switches and delay times jump (the delay glides itself)
    for name in ("fx.filter.cutoff_hz", "fx.reverb.mix", "fx.limiter.ceiling_db", "fx.drive.drive_db"):
        assert params.spec(name).smoothing > 0
    # range checks come from the store: clamped, NaN rejected
    params["fx.delay.feedback"] = 5.0
    assert params["fx.delay.feedback"] == pytest.approx(0.98)
    with pytest.raises(ValueError):
        params["fx.reverb.decay"] = float("nan")
    # a chain of a subset registers only what it needs
    p2 = AtomicParams()
    FxChain(p2, ("reverb", "limiter"))
    assert {n.split(".")[1] for n in p2.names()} == {"tempo_bpm", "reverb", "limiter"}


def test_enabled_mask_api():
    chain = FxChain(AtomicParams())
    assert chain.order == DEFAULT_ORDER == EFFECTS
    assert chain.mask == 0 and chain.enabled == []
    chain.enable("reverb")
    chain.enable("filter")
    assert chain.mask == (1 << EFFECTS.index("reverb")) | (1 << EFFECTS.index("filter"))
    assert chain.enabled == ["filter", "reverb"]          # chain order
    chain.set_enabled("filter", False)
    assert chain.enabled == ["reverb"] and chain.is_enabled("reverb")
    chain.disable("reverb")
    assert chain.mask == 0
    with pytest.raises(ValueError, match="unknown effect"):
        chain.enable("flanger")
    with pytest.raises(ValueError, match="twice"):
        FxChain(AtomicParams(), ("delay", "delay"))
    with pytest.raises(ValueError):
        FxChain(AtomicParams(), ())
    small = FxChain(AtomicParams(), ("limiter", "delay"))
    assert small.order == ("limiter", "delay")
    with pytest.raises(ValueError, match="not in this chain"):
        small.enable("reverb")


def test_mask_is_safe_to_flip_from_threads():
    chain = FxChain(AtomicParams())
    names = list(EFFECTS)

    def flip(name):
        for _ in range(2000):
            chain.enable(name)
            chain.disable(name)
        chain.enable(name)

    threads = [threading.Thread(target=flip, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert chain.mask == (1 << len(EFFECTS)) - 1       # no bit lost to a race


def test_toggling_from_another_thread_while_audio_runs():
    proc = EffectsProcessor(SR, 64)
    proc.params["fx.limiter.ceiling_db"] = -3
    proc.params["fx.reverb.mix"] = 1.0
    proc.chain.enable("limiter")
    proc.reset()
    stop = threading.Event()
    flips = [0]

    def toggler():
        rng = np.random.default_rng(5)
        names = [n for n in EFFECTS if n != "limiter"]
        while not stop.is_set():
            proc.chain.set_enabled(names[rng.integers(len(names))], bool(rng.integers(2)))
            flips[0] += 1

    th = threading.Thread(target=toggler)
    th.start()
    rng = np.random.default_rng(6)
    peak = 0.0
    try:
        for _ in range(60):                  # process() releases the GIL for its blocks
            y = run(proc, rng.standard_normal((2, 4096)) * 2.0)
            assert np.all(np.isfinite(y))
            peak = max(peak, float(np.max(np.abs(y))))
    finally:
        stop.set()
        th.join()
    assert flips[0] > 100
    assert peak <= 10 ** (-3 / 20)
    assert proc.chain.is_enabled("limiter")


# ---- bypass and toggling ----------------------------------------------------------------

def test_disabled_slots_are_bit_exact_passthrough():
    rng = np.random.default_rng(0)
    x = stereo(rng.standard_normal((2, 20000)) * 3.0)
    x[:, 5] = [1e30, -1e-30]                       # extremes pass untouched too
    proc = EffectsProcessor(SR, 256)
    y = run(proc, x)
    assert np.array_equal(y.view(np.uint32), x.view(np.uint32))
    # one slot on, seven off: identical bits to a chain holding only that slot
    full = make("compressor")
    alone = make("compressor", order=("compressor",))
    assert np.array_equal(run(full, x).view(np.uint32), run(alone, x).view(np.uint32))
    # after a slot fades out it is bit-exact again
    proc = make("reverb", mix=0.5)
    run(proc, x[:, :4096])
    proc.chain.disable("reverb")
    run(proc, x[:, :1024])                         # the fade (240 frames) happens here
    later = run(proc, x)
    assert np.array_equal(later.view(np.uint32), x.view(np.uint32))
    # mono buffers: processed as both channels and summed back, still exact when bypassed
    mono = np.ascontiguousarray(x[:1])
    assert np.array_equal(run(EffectsProcessor(SR, 128), mono), mono)


TOGGLE_CASES = {
    "filter": dict(cutoff_hz=400, resonance=0.3),
    "drive": dict(drive_db=30, output_db=-6),
    "delay": dict(time_ms=3, mix=1.0, feedback=0.6),
    "reverb": dict(mix=1.0, decay=1.0, predelay_ms=0),
    "eq": dict(high_gain_db=-20, low_gain_db=12),
    "compressor": dict(threshold_db=-30, ratio=10, attack_ms=0.1, makeup_db=12),
    "limiter": dict(ceiling_db=-12),
    "chorus": dict(mix=1.0, depth_ms=4, feedback=0.5),
}


def _toggle_signal(n):
    t = np.arange(n) / SR
    return 0.5 * np.sin(2 * np.pi * 110 * t) + 0.3 * np.sin(2 * np.pi * 3100 * t)


@pytest.mark.parametrize("effect", sorted(TOGGLE_CASES))
@pytest.mark.parametrize("turn_on", [True, False])
def test_toggling_mid_stream_crossfades_without_a_step(effect, turn_on):
    T, n = 4096, 12288
    x = stereo(_toggle_signal(n))
    kw = TOGGLE_CASES[effect]
    # the reference wet signal: the effect fully on, in the state it has at the toggle
    ref = make(effect, **kw)
    if turn_on:          # fades in from a cleared state: the reference starts cleared at T
        wet = np.concatenate([np.zeros((2, T), np.float32), run(ref, np.ascontiguousarray(x[:, T:]))], axis=1)
    else:
        wet = run(ref, x)
    proc = make(effect, **kw)
    if turn_on:
        proc.chain.disable(effect)
        proc.reset()
    head = run(proc, np.ascontiguousarray(x[:, :T]))
    proc.chain.set_enabled(effect, turn_on)
    tail = run(proc, np.ascontiguousarray(x[:, T:]))
    out = np.concatenate([head, tail], axis=1).astype(np.float64)
    dry = x.astype(np.float64)
    wet = wet.astype(np.float64)
    before, after = (dry, wet) if turn_on else (wet, dry)
    # before the toggle exactly the old path, after the fade exactly the new one
    np.testing.assert_allclose(out[:, :T], before[:, :T], rtol=0, atol=1e-7)
    np.testing.assert_allclose(out[:, T + XF:], after[:, T + XF:], rtol=0, atol=1e-6)
    # out = (1-g) a + g b with |dg| <= 1/XF per frame, so each step is bounded by the
    # steps of the two signals plus |b - a| / XF
    d_out = np.abs(np.diff(out, axis=1))
    d_wet = np.abs(np.diff(wet, axis=1))
    if turn_on:
        d_wet[:, T - 1] = 0      # the reference starts at T; out never uses that step
    bound = (np.maximum(np.abs(np.diff(dry, axis=1)), d_wet)
             + np.abs(wet - dry)[:, 1:] / XF * 1.001 + 1e-6)
    assert np.all(d_out <= bound)
    # where the two paths differ at the toggle, a hard switch would break the bound
    hard_step = np.abs(after[:, T] - before[:, T - 1])
    if np.all(hard_step > 2 * bound[:, T - 1]):
        assert np.all(d_out[:, T - 1] < hard_step / 2)


def test_toggle_bound_detects_a_click():
    """The step bound used above is tight enough to catch a switch without crossfade."""
    T, n = 4096, 8192
    x = stereo(_toggle_signal(n))
    kw = dict(time_ms=20, mix=1.0, feedback=0)
    wet = run(make("delay", **kw), np.ascontiguousarray(x[:, T:]))[0].astype(np.float64)
    wet = np.r_[np.zeros(T), wet]                       # silent for 20 ms after T
    dry = x[0].astype(np.float64)
    proc = make("delay", **kw)
    proc.chain.disable("delay")
    proc.reset()
    head = run(proc, np.ascontiguousarray(x[:, :T]))
    proc.chain.enable("delay")
    tail = run(proc, np.ascontiguousarray(x[:, T:]))
    out = np.r_[head[0], tail[0]].astype(np.float64)
    d_wet = np.abs(np.diff(wet))
    d_wet[T - 1] = 0
    bound = np.maximum(np.abs(np.diff(dry)), d_wet) + np.abs(wet - dry)[1:] / XF * 1.001 + 1e-6
    assert np.all(np.abs(np.diff(out)) <= bound)        # the crossfade passes
    hard = np.r_[dry[:T], wet[T:]]
    assert np.abs(np.diff(hard))[T - 1] > 2 * bound[T - 1]   # a hard switch would not


def test_reset_clears_tails():
    proc = make("delay", time_ms=10, feedback=0.9, mix=1.0, damping=0)
    run(proc, impulse(20000, 0))
    proc.reset()
    assert not np.any(run(proc, np.zeros(20000)))
    proc = make("reverb", decay=10, mix=1.0)
    run(proc, impulse(10000, 0))
    proc.chain.reset()
    assert not np.any(run(proc, np.zeros(10000)))


# ---- delay and chorus ----------------------------------------------------------------------

@pytest.mark.parametrize("sr,kw,samples", [
    (48000, dict(time_ms=10), 480),
    (48000, dict(time_ms=333), 15984),
    (44100, dict(time_ms=250), 11025),
    (48000, dict(sync=1, beats=0.5), 12000),      # 1/8 note at 120 bpm = 250 ms
    (44100, dict(sync=1, beats=1.5), 33075),      # dotted quarter at 120 bpm
])
def test_delay_time_is_exact_to_the_sample(sr, kw, samples):
    at = 77
    proc = make("delay", sr=sr, feedback=0.5, mix=1.0, damping=0, **kw)
    y = run(proc, impulse(3 * samples + 500, at))
    for ch in range(2):
        nz = np.flatnonzero(y[ch])
        assert list(nz) == [at + samples, at + 2 * samples, at + 3 * samples]
        assert list(y[ch, nz]) == [1.0, 0.5, 0.25]


def test_delay_follows_tempo_and_pingpong_alternates():
    proc = make("delay", sync=1, beats=1, feedback=0.5, mix=1.0, damping=0, pingpong=1)
    proc.params["fx.tempo_bpm"] = 150          # a quarter note = 400 ms = 19200 frames
    proc.reset()
    d = 19200
    y = run(proc, impulse(3 * d + 100, 0))
    assert list(np.flatnonzero(y[0])) == [d, 3 * d] and list(np.flatnonzero(y[1])) == [2 * d]
    assert y[0, d] == 1.0 and y[1, 2 * d] == 0.5 and y[0, 3 * d] == 0.25


def test_delay_damping_darkens_each_repeat():
    proc = make("delay", time_ms=50, feedback=0.9, mix=1.0, damping=0.6)
    y = run(proc, impulse(2400 * 4 + 100, 0))[0].astype(np.float64)
    seg = [y[k * 2400: (k + 1) * 2400] for k in (1, 2, 3)]
    hf = [gain_db_at(s, 8000) - gain_db_at(s, 100) for s in seg]
    assert hf[0] > hf[1] + 3 > hf[2] + 6


def test_chorus_is_a_modulated_stereo_delay():
    proc = make("chorus", depth_ms=0, delay_ms=8, mix=1.0, feedback=0)
    y = run(proc, impulse(1000, 10))
    assert list(np.flatnonzero(y[0])) == [10 + 384] and y[0, 394] == 1.0
    proc = make("chorus", depth_ms=3, rate_hz=2, mix=1.0)
    t = np.arange(SR) / SR
    y = run(proc, np.sin(2 * np.pi * 440 * t)).astype(np.float64)
    assert np.max(np.abs(y[0] - y[1])) > 0.1              # left and right LFOs differ
    # pitch wobble: the instantaneous delay moves by about 2 * depth
    lag = [np.argmax(np.correlate(y[0, s:s + 960], np.sin(2 * np.pi * 440 * t[s - 900:s + 960]), "valid"))
           for s in range(2000, 40000, 1200)]
    assert np.ptp(lag) > 50


# ---- reverb ----------------------------------------------------------------------------------

@pytest.mark.parametrize("decay,size", [(0.5, 0.5), (2.0, 0.2), (2.0, 1.0), (6.0, 0.6)])
def test_reverb_rt60_matches_its_setting(decay, size):
    proc = make("reverb", decay=decay, size=size, damping=0, mix=1.0, predelay_ms=0)
    ir = run(proc, impulse(int(SR * (1.2 * decay + 0.3)), 0))
    assert abs(rt60(ir) / decay - 1) < 0.10
    assert np.max(np.abs(ir)) > 0.01                       # it makes sound


def test_reverb_damping_keeps_low_frequency_rt60_and_shortens_highs():
    from scipy.signal import butter, sosfiltfilt
    decay = 2.0
    proc = make("reverb", decay=decay, damping=0.5, mix=1.0, predelay_ms=0)
    ir = run(proc, impulse(int(SR * 2.7), 0)).astype(np.float64)
    low = sosfiltfilt(butter(4, [150, 400], "bandpass", fs=SR, output="sos"), ir, axis=1)
    high = sosfiltfilt(butter(4, [6000, 10000], "bandpass", fs=SR, output="sos"), ir, axis=1)
    assert abs(rt60(low) / decay - 1) < 0.10
    assert rt60(high) < 0.7 * decay


def test_reverb_predelay_and_stereo():
    proc = make("reverb", predelay_ms=50, mix=1.0, decay=1.0)
    ir = run(proc, impulse(SR, 0))
    first = min(np.flatnonzero(ir[0])[0], np.flatnonzero(ir[1])[0])
    assert first >= 2400                            # nothing before the pre-delay
    assert np.corrcoef(ir[0, 2400:], ir[1, 2400:])[0, 1] < 0.5


# ---- filter and EQ ---------------------------------------------------------------------------

@pytest.mark.parametrize("fc", [60, 440, 1000, 5000, 12000, 18000])
def test_lowpass_is_minus_3_db_at_cutoff(fc):
    proc = make("filter", mode=0, cutoff_hz=fc, resonance=0)
    h = run(proc, impulse(1 << 15, 0))[0]
    assert abs(gain_db_at(h, fc) - (-3.01)) < 0.5
    assert abs(gain_db_at(h, fc / 20)) < 0.1                   # passband flat
    if fc * 4 < SR / 2:
        assert gain_db_at(h, fc * 4) < -20                      # 12 dB/oct beyond


def test_highpass_bandpass_and_resonance():
    hp = run(make("filter", mode=1, cutoff_hz=1000), impulse(1 << 14))[0]
    assert abs(gain_db_at(hp, 1000) + 3.01) < 0.5 and abs(gain_db_at(hp, 15000)) < 0.2
    bp = run(make("filter", mode=2, cutoff_hz=2000, resonance=0.5), impulse(1 << 14))[0]
    assert abs(gain_db_at(bp, 2000)) < 0.2 and gain_db_at(bp, 200) < -15
    lp = run(make("filter", mode=0, cutoff_hz=2000, resonance=0.5), impulse(1 << 14))[0]
    assert gain_db_at(lp, 2000) == pytest.approx(20 * np.log10(0.7071 * 10), abs=0.3)   # Q = 7.07


def test_filter_sweeps_are_smoothed_per_sample():
    """A cutoff sweep gives the same output whatever the block size: the coefficients
    follow the per-sample parameter ramp, not block boundaries (no zipper)."""
    x = stereo(np.random.default_rng(3).standard_normal(24000) * 0.3)
    outs = []
    for block in (512, 7):
        proc = make("filter", block=block, cutoff_hz=200, resonance=0.6)
        a = run(proc, np.ascontiguousarray(x[:, :4096]))
        proc.params["fx.filter.cutoff_hz"] = 8000
        b = run(proc, np.ascontiguousarray(x[:, 4096:]))
        outs.append(np.concatenate([a, b], axis=1))
    assert np.max(np.abs(outs[0] - outs[1])) < 1e-3
    # and the sweep is gradual: 1 ms after the change the output is nearer the old
    # filter than a jump to the new cutoff would be
    old = run(make("filter", cutoff_hz=200, resonance=0.6), x)[:, 4096:4144]
    new = run(make("filter", cutoff_hz=8000, resonance=0.6), x)[:, 4096:4144]
    assert np.max(np.abs(outs[0][:, 4096:4144] - old)) < 0.5 * np.max(np.abs(new - old))


def test_eq_band_gains():
    h = run(make("eq", low_gain_db=12, mid_gain_db=0, high_gain_db=0), impulse(1 << 15))[0]
    assert gain_db_at(h, 10) == pytest.approx(12, abs=0.3) and abs(gain_db_at(h, 10000)) < 0.2
    h = run(make("eq", mid_freq_hz=1000, mid_gain_db=6, mid_q=1.0), impulse(1 << 15))[0]
    assert gain_db_at(h, 1000) == pytest.approx(6, abs=0.05) and abs(gain_db_at(h, 50)) < 0.2
    h = run(make("eq", high_freq_hz=4000, high_gain_db=-12), impulse(1 << 15))[0]
    assert gain_db_at(h, 20000) == pytest.approx(-12, abs=0.5) and abs(gain_db_at(h, 100)) < 0.2
    h = run(make("eq"), impulse(1 << 12))[0]                   # all bands at 0 dB: flat
    assert max(abs(gain_db_at(h, f)) for f in (30, 300, 3000, 15000)) < 0.01


# ---- drive ---------------------------------------------------------------------------------------

def test_drive_saturates_and_suppresses_aliasing():
    n = SR                                   # 1 s: 1 Hz bins, the tones fall on bins
    skip = 4800                              # analyse after the start-up transient
    t = np.arange(n + skip) / SR
    for f0, min_gain_db in ((5000, 12), (7000, 20), (9000, 20)):
        x = 0.5 * np.sin(2 * np.pi * f0 * t)
        proc = make("drive", drive_db=24, output_db=0, mix=1.0)
        y = run(proc, x)[0].astype(np.float64)[skip:]
        # saturated near 1; the band-limited (anti-aliased) edges overshoot a little
        assert 0.9 < np.max(np.abs(y)) < 1.25
        naive = np.tanh(10 ** (24 / 20) * x[skip:])
        harmonics = np.zeros(n // 2 + 1, bool)
        harmonics[np.arange(f0, n // 2 + 1, f0)] = True

        def alias_db(sig):
            spec = np.abs(np.fft.rfft(sig)) ** 2
            return 10 * np.log10(spec[~harmonics].sum() / spec[f0])

        assert alias_db(y) < alias_db(naive) - min_gain_db


def test_drive_small_signal_is_a_delay_and_mix_does_not_comb():
    proc = make("drive", drive_db=0, mix=1.0)
    lat = proc.chain.latency
    assert lat == 31
    h = run(proc, impulse(512, 0, 1e-3))[0].astype(np.float64) * 1e3
    assert abs(np.argmax(np.abs(h)) - lat) <= 1
    assert abs(gain_db_at(h, 1000)) < 0.05 and abs(gain_db_at(h, 10000)) < 1.0
    h = run(make("drive", drive_db=0, mix=0.5), impulse(512, 0, 1e-3))[0].astype(np.float64) * 1e3
    assert max(abs(gain_db_at(h, f)) for f in (100, 1000, 5000, 10000)) < 0.5


# ---- dynamics --------------------------------------------------------------------------------------

def test_compressor_static_curve():
    t = np.arange(SR) / SR
    x = 10 ** (-6 / 20) * np.sin(2 * np.pi * 1000 * t)            # peaks at -6 dBFS
    proc = make("compressor", threshold_db=-18, ratio=4, knee_db=0, attack_ms=1,
                release_ms=500, makeup_db=0)
    y = run(proc, x)[0]
    peak_db = 20 * np.log10(np.max(np.abs(y[SR // 2:])))
    assert peak_db == pytest.approx(-18 + 12 / 4, abs=0.5)
    # below the threshold (and the knee) it leaves the level alone
    quiet = run(make("compressor", threshold_db=-18, knee_db=6), 0.05 * np.sin(2 * np.pi * 500 * t))[0]
    assert 20 * np.log10(np.max(np.abs(quiet[SR // 2:])) / 0.05) == pytest.approx(0, abs=0.05)


def _hot_signal(n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = 4.0 * np.sin(2 * np.pi * 80 * t) * (t % 0.25 < 0.12)     # +12 dB bursts
    x = x + rng.standard_normal(n) * 0.8
    x[rng.integers(0, n, 40)] = rng.choice([-8.0, 8.0], 40)       # single-sample transients
    x[n // 2: n // 2 + 3000] = 6.0                                 # a DC step
    return np.stack([x, np.roll(x, 17) * 0.7])


@pytest.mark.parametrize("ceiling,gain", [(-1.0, 0), (-6.0, 12), (0.0, 24), (-0.1, 0)])
def test_limiter_never_exceeds_its_ceiling(ceiling, gain):
    x = _hot_signal(SR, seed=int(-ceiling * 10) + gain)
    proc = make("limiter", ceiling_db=ceiling, gain_db=gain, release_ms=30)
    y = run(proc, x)
    assert np.max(np.abs(y.astype(np.float64))) <= 10 ** (ceiling / 20)
    # a limiter, not a clipper: outside the DC step few samples sit at the ceiling
    at_ceiling = np.abs(y) >= np.float32(10 ** (ceiling / 20)) * 0.9999
    at_ceiling[:, SR // 2: SR // 2 + 3200] = False
    assert np.mean(at_ceiling) < 0.01


def test_limiter_latency_and_recovery():
    proc = make("limiter", ceiling_db=-1, release_ms=20)
    lat = proc.chain.latency
    assert lat == round(0.002 * SR) - 1
    t = np.arange(SR) / SR
    x = 0.1 * np.sin(2 * np.pi * 300 * t)
    x[1000:1100] *= 60                                      # a loud burst
    y = run(proc, x)[0].astype(np.float64)
    # quiet input passes unchanged (delayed by the look-ahead) once the release is over
    np.testing.assert_allclose(y[lat + 20000:], x[20000: SR - lat], atol=1e-4)
    np.testing.assert_allclose(y[lat: lat + 900], x[: 900], atol=1e-7)


# ---- robustness ----------------------------------------------------------------------------------------

def test_output_finite_on_extreme_settings():
    proc = EffectsProcessor(SR, 256)
    extreme = {
        "fx.filter.resonance": 1, "fx.filter.cutoff_hz": 20000,
        "fx.drive.drive_db": 48, "fx.drive.output_db": 12,
        "fx.eq.low_gain_db": 24, "fx.eq.mid_gain_db": 24, "fx.eq.mid_q": 10, "fx.eq.high_gain_db": 24,
        "fx.chorus.feedback": 0.9, "fx.chorus.depth_ms": 10, "fx.chorus.rate_hz": 10,
        "fx.delay.feedback": 0.98, "fx.delay.damping": 0, "fx.delay.time_ms": 1, "fx.delay.mix": 1,
        "fx.reverb.decay": 20, "fx.reverb.size": 1, "fx.reverb.damping": 0, "fx.reverb.mix": 1,
        "fx.compressor.ratio": 20, "fx.compressor.attack_ms": 0.1, "fx.compressor.knee_db": 0,
        "fx.compressor.makeup_db": 24, "fx.limiter.gain_db": 24, "fx.limiter.ceiling_db": 0,
    }
    proc.params.set_many(extreme)
    for name in EFFECTS:
        proc.chain.enable(name)
    proc.reset()
    rng = np.random.default_rng(7)
    y = run(proc, rng.standard_normal((2, 2 * SR)) * 2.0)
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 1.0
    # the feedback paths alone, without the limiter to hide a blow-up
    for name, kw in [("delay", dict(feedback=0.98, damping=0, mix=1, time_ms=1)),
                     ("chorus", dict(feedback=-0.9, depth_ms=10, delay_ms=1, mix=1)),
                     ("filter", dict(resonance=1, cutoff_hz=20)),
                     ("reverb", dict(decay=20, size=0, damping=0, mix=1))]:
        p = make(name, **kw)
        out = run(p, rng.standard_normal((2, SR)))
        assert np.all(np.isfinite(out)) and np.max(np.abs(out)) < 1e3


@pytest.mark.parametrize("effect", EFFECTS)
def test_each_effect_finite_at_its_parameter_limits(effect):
    for end in ("min", "max"):
        proc = EffectsProcessor(SR, 128)
        for spec in proc.params.specs():
            if spec.name.startswith(f"fx.{effect}."):
                proc.params[spec.name] = getattr(spec, end)
        proc.chain.enable(effect)
        proc.reset()
        x = np.random.default_rng(1).standard_normal((2, SR // 2))
        x[:, 1000] = 100.0
        # while running, sweep one parameter to the other end (ramps inside blocks)
        y1 = run(proc, np.ascontiguousarray(x[:, :SR // 4]))
        for spec in proc.params.specs():
            if spec.name.startswith(f"fx.{effect}."):
                proc.params[spec.name] = spec.max if end == "min" else spec.min
        y2 = run(proc, np.ascontiguousarray(x[:, SR // 4:]))
        assert np.all(np.isfinite(y1)) and np.all(np.isfinite(y2))


def test_prepare_again_at_another_rate():
    proc = make("delay", time_ms=10, feedback=0, mix=1.0, damping=0)
    proc.prepare(96000, 64)
    proc.reset()
    y = run(proc, impulse(2000, 0))
    assert list(np.flatnonzero(y[0])) == [960]
