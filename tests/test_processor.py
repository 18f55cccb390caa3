"""The Processor base: argument checks, block splitting, events to the block, stats."""
import numpy as np
import pytest

from fmcore_rt import Gain


def test_process_requires_prepare_and_checks_buffers():
    g = Gain(0.5)
    with pytest.raises(RuntimeError, match="prepare"):
        g.process(np.zeros((2, 64), np.float32))
    g.prepare(48000, 64)
    with pytest.raises(TypeError):
        g.process(np.zeros((2, 64), np.float64))
    with pytest.raises(ValueError):
        g.process(np.zeros((64, 2), np.float32).T)
    with pytest.raises(ValueError, match="outside the block"):
        g.process(np.zeros((2, 64), np.float32), [(64, 0x90, 60, 100)])
    with pytest.raises(ValueError, match="not a MIDI channel message"):
        g.process(np.zeros((2, 64), np.float32), [(0, 0xF8, 0, 0)])
    with pytest.raises(ValueError, match="data bytes"):
        g.process(np.zeros((2, 64), np.float32), [(0, 0x90, 128, 0)])
    with pytest.raises(ValueError):
        g.prepare(48000, 0)


def test_long_calls_are_split_into_blocks_and_timed():
    g = Gain(0.25)
    g.prepare(48000, 64)
    out = np.ones((2, 1000), np.float32)
    g.process(out)
    assert np.all(out == 0.25)
    s = g.stats
    assert s["callbacks"] == 16 and s["frames"] == 1000   # 15 full blocks + 40 frames
    assert g.clock.frames == 1000
