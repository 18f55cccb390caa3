"""The operator-major engine against a float64 reference, on both kernel paths.

The reference renders an operator graph sample by sample in float64 straight from the
definition (phase modulation, feedback through the two-sample average), so every
algorithm, the serial (feedback-loop) stage, its batching across voices and the split
of operators into stages are checked against the same independent arithmetic.
"""
import numpy as np
import pytest

import fmcore
from fmcore import Envelope, Operator, Patch
from fmcore._engine import _kernel_op_run, simd_paths
from fmcore.graph import Graph
from fmcore.stages import serial_stages

SR = 48000
PATHS = ["baseline"] + (["avx2"] if "avx2+fma" in simd_paths() else [])


def test_both_kernel_paths_exist_on_this_machine():
    # the CI machine has AVX2+FMA; a build without the second path would test only one
    assert simd_paths()[-1] == "sse2"
    assert "avx2+fma" in simd_paths()
    assert fmcore.Synth(SR, simd="baseline").simd == "sse2"
    assert fmcore.Synth(SR, simd="avx2").simd == "avx2+fma"
    assert fmcore.Synth(SR).simd == "avx2+fma"


def test_unknown_simd_path_is_refused():
    with pytest.raises(ValueError, match="simd must be one of"):
        fmcore.Synth(SR, simd="avx512")


@pytest.mark.parametrize("simd", PATHS)
def test_operator_kernel_matches_the_definition(simd):
    rng = np.random.default_rng(3)
    for _ in range(20):
        ph, inc = int(rng.integers(0, 2 ** 32)), int(rng.integers(0, 2 ** 31))
        j0, n = int(rng.integers(0, 64)), int(rng.integers(1, 130))
        mod = rng.uniform(-40, 40, n).astype(np.float32)      # radians, up to ~6 cycles either way
        y = _kernel_op_run(simd, ph, inc, 0.8, -2e-3, j0, n, mod, 1.0)
        j = j0 + np.arange(n)
        ref = (0.8 - 2e-3 * j) * np.sin(2 * np.pi * ((ph + j * inc) % 2 ** 32) / 2 ** 32 + mod.astype(float))
        # the sine's 7e-7, phase to 2^-24 cycle (4e-7 rad), float32 gains; and modulation in
        # float32 carries its own relative precision (6e-8 x |mod|)
        assert (np.abs(y - ref) < 1.2e-6 + 1.2e-7 * np.abs(mod)).all()


def flat_patch(graph, ratios, levels):
    """Every envelope jumps to full level at the note-on and holds there: constant gains."""
    ops = [Operator(ratio=r, level=lv, env=Envelope(times=[0.0, 0.0, 0.0, 0.1], levels=[1.0, 1.0, 1.0, 0.0]))
           for r, lv in zip(ratios, levels)]
    return Patch.from_graph(graph, ops)


def reference(graph: Graph, ratios, levels, note, n):
    """float64, sample by sample: y_k = g_k sin(2 pi f_k t + sum amt y_src + sum fb (y1 + y2)/2)."""
    cg = graph.compile()
    hz = 440.0 * 2 ** ((note - 69) / 12)
    y = np.zeros((cg.n_ops, n + 2))                      # two samples of history before t = 0
    out = np.zeros(n)
    for i in range(n):
        t = i + 2
        for k in cg.order:
            m = sum(a * y[s, t] for s, a in cg.modulators[k])
            m += sum(a * 0.5 * (y[s, t - 1] + y[s, t - 2]) for s, a in cg.feedback[k])
            phase = 2 * np.pi * ((ratios[k] * hz / SR * i) % 1.0)
            y[k, t] = levels[k] * np.sin(phase + m)
        out[i] = sum(cg.carrier_level[k] * y[k, i + 2] for k in range(cg.n_ops))
    return out * 0.25 * (100 / 127) ** 2          # voice headroom, CC7 default 100


def engine_mono(patch, note, n, simd, voices=1, **kw):
    s = fmcore.Synth(SR, max_voices=voices, max_block=256, simd=simd, **kw)
    s.set_patch(patch)
    s.settle()
    out = np.zeros((2, n), np.float32)
    s.process(out, [(0, 0x90, note, 127)])
    return out[0].astype(np.float64)          # centre pan: both channels carry the voice at unity


CUSTOM = {
    # two feedback loops sharing an operator, and a modulator outside them feeding in
    "two-loops-with-outside-modulator": Graph.make(5, [(5, 4, 1.2), (4, 3, 0.9), (3, 1, 1.1), (2, 1, 0.7)],
                                                   [1], [(3, 4, 0.6), (2, 2, 0.8)]),
    # a feedback edge between operators that are not otherwise connected
    "cross-feedback": Graph.make(4, [(2, 1, 1.5), (4, 3, 1.0)], [1, 3], [(1, 4, 0.7)]),
    # twelve operators: a 6-stack with feedback from its bottom to its top, and 6 carriers
    "twelve": Graph.make(12, [(k + 1, k, 0.8) for k in range(1, 6)], list(range(1, 2)) + list(range(7, 13)),
                         [(1, 6, 0.5), (12, 12, 1.3)]),
}


def graphs():
    for n in range(1, 33):
        yield f"dx7-{n}", fmcore.algorithm(n, index=2.0, feedback=1.4)
    yield from CUSTOM.items()


@pytest.mark.parametrize("simd", PATHS)
@pytest.mark.parametrize("name,graph", list(graphs()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_graph_renders_as_the_float64_reference(name, graph, simd):
    cg = graph.compile()
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    ratios = [float(x) for x in rng.choice([0.5, 1, 1, 2, 3, 1.41, 7], cg.n_ops)]
    levels = [float(x) for x in rng.uniform(0.4, 1.0, cg.n_ops)]
    n = 3000
    ref = reference(graph, ratios, levels, 57, n)
    got = engine_mono(flat_patch(graph, ratios, levels), 57, n, simd)
    err = np.abs(got - ref).max() / np.abs(ref).max()
    # float32 against float64, a 7e-7 sine, and feedback that carries errors along
    assert err < 2e-4, f"{name}: relative error {err:.2e}"


def test_the_stage_split_of_the_custom_graphs():
    st = serial_stages(CUSTOM["two-loops-with-outside-modulator"].compile())
    assert sorted(st.serial) == [1, 2, 3]          # 2 (self-loop), 3 and 4 (the 3->4 loop)
    assert st.pre == (4,)                          # 5 modulates 4 from outside the loops
    assert st.external[st.serial.index(3)] == ((4, 1.2),)
    st = serial_stages(CUSTOM["cross-feedback"].compile())
    assert sorted(st.serial) == [0, 3] and st.pre == (1,)      # 2 modulates the loop's 1
    # a feedback edge of amount 0 leaves the operator operator-major
    assert serial_stages(fmcore.algorithm(5, feedback=0.0).compile()).serial == ()


@pytest.mark.parametrize("simd", PATHS)
def test_voices_in_a_batch_sound_as_they_do_alone(simd):
    """40 voices over 5 patches of 3 loop shapes (batches of 16 and 8 lanes, half-empty
    ones, several batches of one shape) equal the sum of each voice rendered alone."""
    patches = [flat_patch(fmcore.algorithm(a, index=1.5, feedback=fb), [1, 2, 1, 3, 1, 0.5], [0.8] * 6)
               for a, fb in ((1, 1.2), (4, 0.9), (6, 1.1), (22, 1.3), (32, 0.0))]
    notes = [(ch, 40 + 3 * i + ch) for ch in range(5) for i in range(8)]
    n = 2048

    def render(pairs):
        s = fmcore.Synth(SR, max_voices=64, max_block=256, simd=simd)
        for ch, p in enumerate(patches):
            s.set_patch(p, channel=ch)
        s.settle()
        out = np.zeros((2, n), np.float32)
        s.process(out, [(0, 0x90 | ch, note, 100) for ch, note in pairs])
        return out.astype(np.float64)

    together = render(notes)
    alone = sum(render([pair]) for pair in notes)
    assert np.abs(together - alone).max() < 1e-5 * np.abs(alone).max()


@pytest.mark.parametrize("simd", PATHS)
def test_block_size_does_not_change_serial_batches(simd):
    """Loops of several shapes, voices starting and releasing at odd frames, bends and pan:
    identical to the bit at blocks of 17, 64 and 1024 frames."""
    rng = np.random.default_rng(11)
    ev = []
    for i in range(60):
        t = float(rng.uniform(0, 1.0))
        ch = int(rng.integers(0, 4))
        note = int(rng.integers(40, 90))
        ev.append((t, 0x90 | ch, note, int(rng.integers(1, 128))))
        ev.append((t + float(rng.uniform(0.02, 0.4)), 0x80 | ch, note, 0))
    ev += [(0.31, 0xE1, 0, 90), (0.52, 0xB2, 10, 10), (0.77, 0xB0, 1, 100)]
    ev.sort()
    graphs_ = [fmcore.algorithm(4, feedback=1.0), CUSTOM["two-loops-with-outside-modulator"],
               fmcore.algorithm(22, feedback=1.2), fmcore.algorithm(32, feedback=0.0)]
    outs = []
    for block in (17, 64, 1024):
        s = fmcore.Synth(SR, max_voices=24, max_block=block, simd=simd)
        for ch, g in enumerate(graphs_):
            s.set_patch(Patch.from_graph(g), channel=ch)
        s.settle()
        outs.append(s.render(ev, duration=1.6))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[1], outs[2])


def test_the_two_paths_agree():
    """The same song on the portable and the AVX2+FMA kernels: the same sound (FMA rounds
    differently, so not the same bits)."""
    song = []
    rng = np.random.default_rng(5)
    for i in range(30):
        t = float(rng.uniform(0, 1.0))
        note = int(rng.integers(36, 84))
        song += [(t, 0x90, note, 100), (t + 0.3, 0x80, note, 0)]
    song.sort()
    out = {}
    for simd in ("baseline", "avx2"):
        s = fmcore.Synth(SR, max_voices=16, simd=simd)
        s.set_patch(Patch.from_graph(fmcore.algorithm(1, index=2.0, feedback=1.0)))
        s.settle()
        out[simd] = s.render(song, duration=1.5)
    assert np.abs(out["baseline"] - out["avx2"]).max() < 1e-4 * np.abs(out["avx2"]).max()


SHORT_TICKS = {
    "held": {},
    "vibrato": {"lfo": {"wave": "sine", "rate_hz": 5.0, "pitch_depth_cents": 30.0}},
    "tremolo": {"lfo": {"wave": "triangle", "rate_hz": 4.0, "amp_depth_db": 6.0}, "ams": 1.0},
    "decaying": {"env": {"times": [0.0, 0.6, 0.6, 0.1], "levels": [1.0, 0.3, 0.1, 0.0]}},
}


@pytest.mark.parametrize("simd", PATHS)
@pytest.mark.parametrize("case", list(SHORT_TICKS))
def test_a_voice_ticks_the_short_way_to_the_same_numbers(simd, case):
    """A control tick reuses the pitch targets while no LFO or pitch envelope moves them and the
    amplitude targets while the envelopes hold without an LFO on them. A controller the engine
    ignores (CC2) at every tick forces full ticks: the two renders must be equal to the bit,
    with vibrato (amplitudes reused), tremolo and decaying envelopes (pitches reused)."""
    spec = SHORT_TICKS[case]
    env = spec.get("env", {"times": [0.0, 0.0, 0.0, 0.1], "levels": [1.0, 1.0, 1.0, 0.0]})
    d = {"operators": [{"ratio": r, "level": 0.8, "env": env, "ams": spec.get("ams", 0.0)}
                       for r in (1, 2, 1, 3, 1, 0.5)],
         "edges": [[2, 1, 2.0], [4, 3, 2.0], [6, 5, 2.0]], "carriers": [1, 3, 5], "feedback": [[6, 6, 1.2]]}
    if "lfo" in spec:
        d["lfo"] = spec["lfo"]
    patch = Patch.from_dict(d)
    notes = [(0.0, 0x90, 48 + 5 * i, 100) for i in range(6)]
    pokes = [(i * 64 / SR, 0xB0, 2, i % 128) for i in range(1, int(0.8 * SR / 64))]
    outs = []
    for ev in (notes, sorted(notes + pokes)):
        s = fmcore.Synth(SR, max_voices=8, max_block=256, simd=simd)
        s.set_patch(patch)
        s.settle()
        outs.append(s.render(ev, duration=0.8))
    assert np.abs(outs[0]).max() > 0.05
    assert np.array_equal(outs[0], outs[1])
