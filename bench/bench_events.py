"""A burst of events on the audio thread: the cost of the worst block with and without the per-block bound.

4,096 note-ons (a full queue) are sent at once; then 40 blocks of 128 frames are rendered and
each block's thread CPU time is taken (CPU, not wall time: preemption on a shared machine is not
the engine's cost). "bounded" is the engine as it ships: ``scheduler.budget(128)`` events per
block, the rest held over to the next blocks. "one block" is the cost without a bound, as the
engine drained its queue before: the 4,096 note-ons applied in one block (given to ``process``
with the buffer, which is not bounded; the conversion of the event list, measured on a
``Gain`` processor, is subtracted).
"""
import time

import numpy as np
import pytest

import fmcore
from fmcore_rt import Gain

SR = 48000
BLOCK = 128
N = 4096


def _cpu_us(fn):
    t0 = time.thread_time_ns()
    fn()
    return (time.thread_time_ns() - t0) / 1000.0


@pytest.mark.parametrize("bound", ["bounded", "one block"])
@pytest.mark.parametrize("voices", [16, 64])
def test_burst_of_4096_note_ons(benchmark, voices, bound):
    result = {}
    burst = [(0, 0x90 | (i % 16), 24 + i % 96, 100) for i in range(N)]

    def run():
        s = fmcore.Synth(SR, max_voices=voices, max_block=BLOCK)
        out = np.zeros((2, BLOCK), np.float32)
        if bound == "one block":
            g = Gain()
            g.prepare(SR, BLOCK)
            convert = min(_cpu_us(lambda: g.process(out, burst)) for _ in range(3))
            cpu = _cpu_us(lambda: s.process(out, burst)) - convert
            result.update(first_block_cpu_us=cpu, worst_block_cpu_us=cpu, blocks_to_apply_all=1, budget=N,
                          events_deferred=0)
            return
        for ev in burst:
            s.send(*ev[1:])
        cpu, played = [], []
        for _ in range(40):
            cpu.append(_cpu_us(lambda: s.process(out)))
            played.append(s.stats["notes_played"])
        result.update(first_block_cpu_us=cpu[0], worst_block_cpu_us=max(cpu),
                      blocks_to_apply_all=1 + played.index(N), budget=s.scheduler.budget(BLOCK),
                      events_deferred=s.stats["events_deferred"])

    benchmark.pedantic(run, rounds=5, iterations=1)
    benchmark.extra_info.update(voices=voices, bound=bound, deadline_us=BLOCK / SR * 1e6, **result)
