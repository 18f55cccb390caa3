"""The FM engine's speed, against the engine it replaced, measured side by side in one run.

- ``test_op_samples``: operator-samples per second for 1/16/64 voices x 2/6/12 operators
  (pairs of modulator -> carrier, one operator feeding back on itself, every envelope held
  at full level), on the AVX2+FMA kernels, the portable baseline and the previous engine
  (a frozen copy, bench/legacy/), interleaved; ratios in ``extra_info``.
- ``test_rom1a_chord``: the DX7 factory voices BRASS 1 and E.PIANO 1 held as a 16-note
  chord for 30 s at 48 kHz in 64-frame blocks, the three engines interleaved.
- ``test_real_files``: every good file in shared/data/midi, whole, engine render plus
  writing the WAV: x real time as ``fmcore render`` sets the synth up (GM kit, reverb
  sends), and the ratio to the old engine with the same sounds on both (its bank and kit,
  no sends).
- ``test_process_block``: microseconds per ``process`` call across block sizes and voice
  counts (the report's curve against the deadline).
- ``test_callback_cpu_64``: ``process`` at 64 frames with 16 voices: thread CPU time per
  call, p99.9 as a share of the 1333 us deadline.

Times are thread CPU time (see bench/engines.py); the figures go to the JSON's
``extra_info``. Nothing here passes or fails on speed.

    .venv/bin/python -m pytest bench/bench_engine.py -o python_files="bench_*.py" --benchmark-json out.json
"""
import time

import numpy as np
import pytest
import soundfile as sf

import fmcore
from engines import SHARED, SR, chord, held_chord_seconds, interleaved, make, rom1a, stack_patch

ENGINES = ["auto", "baseline", "legacy"]


def _record(benchmark, runs: dict, work: float, unit: str, **info):
    """Time ``runs`` interleaved (3 rounds), put per-engine rates and ratios in extra_info;
    the benchmark's own timing is one more run of the current engine."""
    med = interleaved(runs, rounds=3)
    rates = {k: work / v for k, v in med.items()}
    benchmark.extra_info.update(info)
    benchmark.extra_info["simd"] = fmcore.Synth(SR).simd
    for k, r in rates.items():
        benchmark.extra_info[f"{unit}_{k}"] = r
    if "legacy" in rates:
        for k in rates:
            if k != "legacy":
                benchmark.extra_info[f"speedup_{k}_vs_legacy"] = rates[k] / rates["legacy"]
    benchmark.pedantic(runs["auto"], rounds=1, iterations=1)
    return rates


@pytest.mark.parametrize("ops", [2, 6, 12])
@pytest.mark.parametrize("voices", [1, 16, 64])
def test_op_samples(benchmark, voices, ops):
    patch = stack_patch(ops)
    seconds = 2.0 if voices < 64 else 1.0
    synths = {e: make(e, voices) for e in ENGINES}
    runs = {e: (lambda s=s: held_chord_seconds(s, patch, voices, seconds)) for e, s in synths.items()}
    _record(benchmark, runs, ops * voices * seconds * SR, "op_samples_per_s", voices=voices, ops=ops)


@pytest.mark.parametrize("voice", ["BRASS 1", "E.PIANO 1"])
def test_rom1a_chord(benchmark, voice):
    patch = rom1a({"BRASS 1": 0, "E.PIANO 1": 10}[voice])
    synths = {e: make(e, 16) for e in ENGINES}
    # three 10 s renders per engine, each from the note-ons: 30 s of a held chord
    runs = {e: (lambda s=s: held_chord_seconds(s, patch, 16, 10.0)) for e, s in synths.items()}
    ops = len(patch.operators)
    rates = _record(benchmark, runs, ops * 16 * 10.0 * SR, "op_samples_per_s", voice=voice, voices=16)
    benchmark.extra_info["x_realtime_auto"] = rates["auto"] / (ops * 16 * SR)


FILES = sorted(p for p in (SHARED / "midi").glob("*.mid") if not p.name.startswith("broken-"))


def _legacy_sounds(synth):
    """What the frozen engine can hold: the built-in GM bank, and the drum kit's notes whose
    sounds are among its first 16 (the old kit's limit); no sends, no choke groups."""
    from fmcore.presets import drum_kit, gm_bank

    synth.set_bank(gm_bank())
    uniq = []
    for p in drum_kit().values():
        if not any(p is u for u in uniq):
            uniq.append(p)
    synth.set_kit({n: p for n, p in drum_kit().items() if any(p is u for u in uniq[:16])}, channel=9)


def _render_file(engine, path, out_path):
    """The whole song: engine render plus writing a 24-bit WAV. ``auto`` is set up as
    ``fmcore render`` sets it up (the GM kit with choke groups, reverb sends); ``same`` is
    the current engine with the sounds the legacy engine holds, for an engine-to-engine ratio."""
    from fmcore.midi import read_midi
    from fmcore.render import setup_synth, song_events

    song = read_midi(path, lenient=True)
    ev = song_events(song, SR)
    n = int((song.duration_seconds + 2.0) * SR)
    raw = np.stack([ev["sample"], ev["status"], ev["data1"], ev["data2"]], axis=1).astype(np.int64)
    synth = make("auto" if engine == "same" else engine, 64, block=256)
    if engine == "auto":
        setup_synth(synth)
    else:
        _legacy_sounds(synth)
    t = time.thread_time()
    out = np.zeros((2, n), np.float32)
    synth.process(out, raw[raw[:, 0] < n])
    sf.write(out_path, out.T, SR, subtype="PCM_24")
    return time.thread_time() - t, n / SR


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_real_files(benchmark, path, tmp_path):
    secs = {}

    def run(engine):
        t, secs["audio"] = _render_file(engine, path, tmp_path / f"{engine}.wav")
        return t

    med = interleaved({e: (lambda e=e: run(e)) for e in ("auto", "same", "legacy")}, rounds=3)
    audio = secs["audio"]
    benchmark.extra_info.update(file=path.name, audio_seconds=audio, simd=fmcore.Synth(SR).simd,
                                x_realtime=audio / med["auto"], x_realtime_same=audio / med["same"],
                                x_realtime_legacy=audio / med["legacy"],
                                speedup_vs_legacy=med["legacy"] / med["same"],
                                speedup_full_setup_vs_legacy=med["legacy"] / med["auto"])
    benchmark.pedantic(lambda: run("auto"), rounds=1, iterations=1)


@pytest.mark.parametrize("voices", [1, 16, 64])
@pytest.mark.parametrize("block", [32, 64, 128, 256, 512])
def test_process_block(benchmark, block, voices):
    synth = fmcore.Synth(SR, max_voices=voices, max_block=block)
    synth.set_patch(stack_patch(6))
    out = np.zeros((2, block), np.float32)
    synth.process(out, chord(voices))
    for _ in range(20):                  # past the onsets: steady state
        synth.process(out)
    assert synth.active_voices == voices
    benchmark.pedantic(synth.process, args=(out,), rounds=max(200, 20000 // block), iterations=1, warmup_rounds=10)
    us = benchmark.stats.stats.mean * 1e6
    deadline = block / SR * 1e6
    benchmark.extra_info.update(us_per_block=us, block=block, voices=voices, deadline_us=deadline,
                                deadline_ratio=us / deadline, simd=synth.simd,
                                op_samples_per_s=6 * voices * block / benchmark.stats.stats.mean)


def test_callback_cpu_64(benchmark):
    """``process`` of 64 frames with 16 voices on BRASS 1, 10 s: the thread's CPU time per
    call (Python's share included) and the engine's own time per block (TimingStats)."""
    synth = fmcore.Synth(SR, max_voices=16, max_block=64)
    synth.set_patch(rom1a(0))
    out = np.zeros((2, 64), np.float32)
    synth.process(out, chord(16))
    cpu = []

    def run():
        for _ in range(int(10 * SR / 64)):
            t = time.thread_time_ns()
            synth.process(out)
            cpu.append(time.thread_time_ns() - t)

    benchmark.pedantic(run, rounds=1, iterations=1)
    deadline_us = 64 / SR * 1e6
    c = np.array(cpu) / 1e3
    st = synth.stats
    benchmark.extra_info.update(
        simd=synth.simd, deadline_us=deadline_us, blocks=len(c),
        cpu_p50_us=float(np.percentile(c, 50)), cpu_p999_us=float(np.percentile(c, 99.9)),
        cpu_p999_share=float(np.percentile(c, 99.9)) / deadline_us,
        engine_p999_us=st.get("p999_us"), engine_p999_share=(st.get("p999_us") or 0) / deadline_us)
