"""AtomicParams: specs, range checks, batches, smoothing (single-threaded behaviour)."""
import math

import numpy as np
import pytest

from fmcore_rt import AtomicParams


@pytest.fixture
def params():
    p = AtomicParams()
    p.add("master.gain", 0.0, 2.0, 0.8, unit="", smoothing=0.01)
    p.add("op1.level", 0.0, 1.0, 0.5, smoothing=0.0)
    p.add("op1.ratio", 0.5, 32.0, 1.0, smoothing=0.0)
    p.prepare(48000)
    return p


def test_specs_and_names(params):
    assert params.names() == ["master.gain", "op1.level", "op1.ratio"]
    assert len(params) == 3 and "op1.level" in params
    s = params.spec("op1.ratio")
    assert (s.index, s.min, s.max, s.default) == (2, 0.5, 32.0, 1.0)
    assert params.index("op1.level") == 1
    assert params["master.gain"] == pytest.approx(0.8)
    assert params[2] == 1.0


def test_add_refuses_bad_specs(params):
    with pytest.raises(ValueError, match="already registered"):
        params.add("op1.level", 0, 1, 0)
    with pytest.raises(ValueError, match="outside"):
        params.add("x", 0, 1, 2)
    with pytest.raises(ValueError, match="finite"):
        params.add("y", 0, math.inf, 0)
    with pytest.raises(ValueError, match="invalid parameter name"):
        params.add("bad name", 0, 1, 0)


def test_capacity_is_256():
    p = AtomicParams()
    for i in range(256):
        p.add(f"p{i}", 0, 1, 0)
    with pytest.raises(ValueError, match="256 parameter slots"):
        p.add("one.more", 0, 1, 0)


def test_single_set_clamps_and_refuses_nan(params):
    params["op1.level"] = 3.0
    assert params["op1.level"] == 1.0
    params["op1.level"] = -1
    assert params["op1.level"] == 0.0
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="op1.level.*finite"):
            params["op1.level"] = bad
    with pytest.raises(TypeError):
        params["op1.level"] = "loud"
    with pytest.raises(KeyError, match="op9.level"):
        params["op9.level"] = 0.1
    with pytest.raises(KeyError):
        params[99] = 0.1


def test_batch_is_all_or_nothing(params):
    with pytest.raises(ValueError):
        params.set_many({"op1.level": 0.2, "op1.ratio": math.nan})
    assert params["op1.level"] == 0.5 and params.batches_published == 0
    with pytest.raises(RuntimeError):
        with params.batch() as b:
            b["op1.level"] = 0.9
            raise RuntimeError("abandon")
    assert params["op1.level"] == 0.5 and params.batches_published == 0
    with params.batch() as b:
        b["op1.level"] = 0.9
        b["op1.ratio"] = 99  # clamped on publish
        assert b["op1.level"] == 0.9
    assert params["op1.level"] == pytest.approx(0.9) and params["op1.ratio"] == 32.0
    assert params.batches_published == 1


def test_audio_side_adopts_newest_write_per_slot(params):
    params.set_many({"op1.level": 0.1, "op1.ratio": 2.0})
    params["op1.level"] = 0.3          # single set after the batch wins
    params.audio_block(64)
    t = params.audio_targets()
    assert t["op1.level"] == pytest.approx(0.3) and t["op1.ratio"] == 2.0
    params["op1.ratio"] = 4.0
    params.set_many({"op1.ratio": 8.0})  # batch after the single set wins
    params.audio_block(64)
    assert params.audio_targets()["op1.ratio"] == 8.0


def test_batch_lands_in_one_block_even_if_published_twice(params):
    params.set_many({"op1.level": 0.2, "op1.ratio": 3.0})
    params.set_many({"op1.level": 0.4, "op1.ratio": 5.0})
    params.audio_block(64)
    t = params.audio_targets()
    assert (t["op1.level"], t["op1.ratio"]) == (pytest.approx(0.4), 5.0)


def test_smoothing_is_a_linear_ramp_of_the_set_time(params):
    # master.gain: 10 ms = 480 samples at 48 kHz
    params["master.gain"] = 1.8
    seen = []
    for _ in range(10):
        params.audio_block(64)
        seen.append(params.audio_values()["master.gain"])
    steps = np.diff([0.8] + seen)
    # 7 full blocks of 64 frames then a partial one (480 = 7*64 + 32)
    assert np.allclose(steps[:7], 64 / 480.0, atol=1e-5)
    assert seen[7] == pytest.approx(1.8) and seen[-1] == pytest.approx(1.8)
    assert steps[7] == pytest.approx(32 / 480.0, abs=1e-5)


def test_zero_smoothing_jumps(params):
    params["op1.level"] = 0.25
    params.audio_block(64)
    assert params.audio_values()["op1.level"] == 0.25


def test_defaults_restores(params):
    params["op1.level"] = 0.9
    params.defaults()
    assert params["op1.level"] == 0.5


def test_settle_skips_the_ramp(params):
    params["master.gain"] = 1.8
    params.settle()
    assert params.audio_values()["master.gain"] == pytest.approx(1.8)
    params.audio_block(64)
    assert params.audio_values()["master.gain"] == pytest.approx(1.8)


def test_two_batches_in_one_block_both_land(params):
    # issue 14.4: the second batch of a block must not drop the first one's slots
    params.set_many({"op1.level": 0.25})
    params.set_many({"op1.ratio": 4.0})
    with params.batch() as b:
        b["master.gain"] = 1.5
    params.audio_block(64)
    t = params.audio_targets()
    assert (t["op1.level"], t["op1.ratio"], t["master.gain"]) == (0.25, 4.0, 1.5)
    assert params["op1.level"] == 0.25 and params["op1.ratio"] == 4.0 and params["master.gain"] == 1.5


def test_many_batches_between_blocks_keep_every_slot(params):
    # a batch per slot, several rounds, a block only now and then: the audio side ends with every value
    for r in range(1, 40):
        for name in ("master.gain", "op1.level", "op1.ratio"):
            params.set_many({name: r / 40})
        if r % 7 == 0:
            params.audio_block(64)
            assert params.audio_targets()["op1.level"] == pytest.approx(r / 40)
    params.audio_block(64)
    t = params.audio_targets()
    assert t["op1.level"] == pytest.approx(39 / 40) and t["op1.ratio"] == pytest.approx(39 / 40)
    assert t["master.gain"] == pytest.approx(39 / 40)


def test_a_set_lands_after_a_billion_writes_elsewhere(params):
    # issue 14.5: no write counter may wrap so that a later write looks older than an earlier one
    from fmcore_rt import _stress

    params["op1.level"] = 0.3
    params.audio_block(64)
    assert params.audio_targets()["op1.level"] == pytest.approx(0.3)
    _stress.param_sets(params, params.index("op1.ratio"), (1 << 30) + 1000)
    params["op1.level"] = 0.7
    params.audio_block(64)
    assert params.audio_targets()["op1.level"] == pytest.approx(0.7)
    assert params.audio_targets()["op1.ratio"] == 2.0


def test_write_order_holds_across_the_batch_generation_wrap(params):
    # a slot's batch generation is 31 bits: take one slot across its wrap and check who wins
    from fmcore_rt import _stress

    i = params.index("op1.ratio")
    _stress.param_force_generation(params, i, (1 << 31) - 3)
    for k in range(6):
        params.set_many({"op1.ratio": 1 + k})                 # a batch after a single set wins
        params.audio_block(64)
        assert params.audio_targets()["op1.ratio"] == params["op1.ratio"] == 1 + k
        params["op1.ratio"] = 10 + k                          # a single set after a batch wins
        params.audio_block(64)
        assert params.audio_targets()["op1.ratio"] == params["op1.ratio"] == 10 + k
        params["op1.ratio"] = 16 + k                          # both between two blocks: the batch
        params.set_many({"op1.ratio": 22 + k, "op1.level": 0.5})
        params.audio_block(64)
        assert params.audio_targets()["op1.ratio"] == params["op1.ratio"] == 22 + k
