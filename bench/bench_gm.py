"""General MIDI rendering costs: voices spread over parts, the shared send effects, stems.

Per block: N voices of a 6-operator patch held on 1 or 16 parts, with the
reverb send at 0 (the send effects idle: only the per-part buffers cost) or at
the GM default 40 (the shared reverb runs every block). Render: a real GM file
(first 30 s) with and without stems, as x real time.
"""
from pathlib import Path

import numpy as np
import pytest

import fmcore
from fmcore import Envelope, Operator, Patch

SR = 48000
MIDI = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"


def six_op_patch():
    ops = [Operator(ratio=[1, 1, 1, 3, 2, 7][k], level=0.7,
                    env=Envelope(times=[0.01, 0.3, 0.0, 0.3], levels=[1.0, 0.8, 0.8, 0.0])) for k in range(6)]
    return Patch.from_graph(fmcore.algorithm(1, index=2.0, feedback=1.0), ops)


@pytest.mark.parametrize("send", [0, 40])
@pytest.mark.parametrize("parts", [1, 16])
@pytest.mark.parametrize("voices", [1, 16, 64])
@pytest.mark.parametrize("block", [64, 256])
def test_process_block_parts_and_sends(benchmark, block, voices, parts, send):
    synth = fmcore.Synth(SR, max_voices=voices, max_block=block)
    for ch in range(16):
        synth.set_patch(six_op_patch(), ch)
    out = np.zeros((2, block), np.float32)
    ev = [(0, 0xB0 | ch, 91, send) for ch in range(16)] + [(0, 0x90 | (i % parts), 36 + i, 100) for i in range(voices)]
    synth.process(out, ev)
    for _ in range(20):
        synth.process(out)
    assert synth.active_voices == voices
    benchmark.pedantic(synth.process, args=(out,), rounds=max(200, 20000 // block), iterations=1, warmup_rounds=10)
    us = benchmark.stats.stats.mean * 1e6
    benchmark.extra_info.update(us_per_block=us, block=block, voices=voices, parts=parts, reverb_send=send,
                                deadline_ratio=us / (block / SR * 1e6))


@pytest.mark.parametrize("stems", [False, True])
def test_render_gm_file_with_stems(benchmark, stems):
    path = MIDI / "gm-multitrack-drums_freedoom-e1m1.mid"
    from fmcore.midi import read_midi
    from fmcore.render import setup_synth, song_events

    song = read_midi(path)
    ev = song_events(song, SR)
    n = 30 * SR
    raw = np.stack([ev["sample"], ev["status"], ev["data1"], ev["data2"]], axis=1).astype(np.int64)
    raw = raw[raw[:, 0] < n]
    synth = fmcore.Synth(SR, max_voices=64, max_block=256)
    out = np.zeros((2, n), np.float32)
    st = np.zeros((18, 2, n), np.float32)

    def run():
        synth.reset()
        setup_synth(synth)
        synth.settle()
        if stems:
            synth.process_stems(out, st, raw)
        else:
            synth.process(out, raw)

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(x_realtime=(n / SR) / benchmark.stats.stats.mean, stems=stems, audio_seconds=n / SR)
