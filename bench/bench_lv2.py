"""Cost of LV2 plugins hosted in the effects chain, per 64- and 256-frame block.

Same method as bench_fx.py: one timed call processes many blocks without the GIL. "none"
is the chain with an empty plugin rack (the floor). The plugins are Debian's: swh-lv2
(amp: mono, two instances; gverb: mono in, stereo out) and x42-plugins (fil4: stereo EQ
with atom ports; dpl: look-ahead limiter).

    .venv/bin/python -m pytest bench/bench_lv2.py --benchmark-json /tmp/lv2.json
"""
import numpy as np
import pytest

from fmcore.fx import EffectsProcessor

SR = 48000
N_FRAMES = 256 * 64
PLUGINS = {
    "none": None,
    "amp": "http://plugin.org.uk/swh-plugins/amp",
    "gverb": "http://plugin.org.uk/swh-plugins/gverb",
    "fil4": "http://gareus.org/oss/lv2/fil4#stereo",
    "dpl": "http://gareus.org/oss/lv2/dpl#stereo",
}


@pytest.mark.parametrize("block", [64, 256])
@pytest.mark.parametrize("plugin", list(PLUGINS))
def test_lv2_block_cost(benchmark, plugin, block):
    proc = EffectsProcessor(SR, block, order=("limiter",))
    if PLUGINS[plugin]:
        proc.chain.load_lv2(PLUGINS[plugin], name="p")
    proc.reset()
    rng = np.random.default_rng(0)
    src = np.ascontiguousarray(rng.standard_normal((2, N_FRAMES)).astype(np.float32) * 0.25)
    proc.process(src.copy())

    def fresh():
        return (src.copy(),), {}

    benchmark.pedantic(proc.process, setup=fresh, rounds=40, iterations=1, warmup_rounds=3)
    us = benchmark.stats.stats.median / (N_FRAMES // block) * 1e6
    benchmark.extra_info.update(plugin=plugin, block=block, us_per_block=us,
                                deadline_fraction=us * 1e-6 / (block / SR))
