"""Cost of each effect of fmcore.fx alone, per 64- and 256-frame block.

One timed call processes N_BLOCKS blocks without the GIL (EffectsProcessor
splits it into max_block blocks: params.begin_block + chain.process each), so
Python overhead is spread thin. "none" is the chain with every slot bypassed:
the floor (begin_block of ~40 slots, timing, clock) that the effects add to.
Each round starts from the same fresh input, so feedback effects cannot grow
the signal across rounds.

    .venv/bin/python -m pytest bench/bench_fx.py --benchmark-json /tmp/fx.json
"""
import numpy as np
import pytest

from fmcore.fx import EFFECTS, EffectsProcessor

SR = 48000
N_FRAMES = 256 * 64          # frames per timed call

# settings that exercise the expensive paths (resonant filter, long reverb, feedback)
SETTINGS = {
    "filter": {"fx.filter.cutoff_hz": 1200, "fx.filter.resonance": 0.5},
    "drive": {"fx.drive.drive_db": 24},
    "eq": {"fx.eq.low_gain_db": 6, "fx.eq.mid_gain_db": -4, "fx.eq.high_gain_db": 3},
    "chorus": {"fx.chorus.mix": 0.5, "fx.chorus.feedback": 0.3},
    "delay": {"fx.delay.feedback": 0.6, "fx.delay.mix": 0.4, "fx.delay.pingpong": 1},
    "reverb": {"fx.reverb.decay": 3.0, "fx.reverb.mix": 0.3},
    "compressor": {"fx.compressor.threshold_db": -24},
    "limiter": {"fx.limiter.gain_db": 12},
}


@pytest.mark.parametrize("block", [64, 256])
@pytest.mark.parametrize("effect", ["none", *EFFECTS, "all"])
def test_fx_block_cost(benchmark, effect, block):
    proc = EffectsProcessor(SR, block)
    names = EFFECTS if effect == "all" else () if effect == "none" else (effect,)
    for name in names:
        proc.params.set_many(SETTINGS[name])
        proc.chain.enable(name)
    proc.reset()
    rng = np.random.default_rng(0)
    src = np.ascontiguousarray(rng.standard_normal((2, N_FRAMES)).astype(np.float32) * 0.25)
    proc.process(src.copy())                   # warm the caches and the effect state

    def fresh():
        return (src.copy(),), {}

    benchmark.pedantic(proc.process, setup=fresh, rounds=60, iterations=1, warmup_rounds=3)
    n_blocks = N_FRAMES // block
    us = benchmark.stats.stats.median / n_blocks * 1e6
    benchmark.extra_info["effect"] = effect
    benchmark.extra_info["block"] = block
    benchmark.extra_info["us_per_block"] = us
    benchmark.extra_info["ns_per_frame"] = us * 1e3 / block
    benchmark.extra_info["deadline_fraction"] = us * 1e-6 / (block / SR)
