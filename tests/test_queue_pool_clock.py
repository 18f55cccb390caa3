"""SpscQueue, RtPool, SampleClock and TimingStats: behaviour, limits and errors."""
import numpy as np
import pytest

from fmcore_rt import EVENT_DTYPE, RtPool, SampleClock, SpscQueue, TimingStats


def test_queue_order_capacity_and_drops():
    q = SpscQueue(5)
    assert q.capacity == 8                      # rounded up to a power of two
    assert all(q.push_event(i, 0x90, 60, i) for i in range(8))
    assert not q.push_event(99, 0x90, 60, 1)    # full: refused, counted, never blocks
    assert q.dropped == 1 and len(q) == 8
    assert q.pop_event() == (0, 0x90, 60, 0, 0, 0, 0.0)
    rest = q.drain()
    assert rest.dtype == EVENT_DTYPE and list(rest["frame"]) == list(range(1, 8))
    assert q.pop_event() is None and len(q) == 0


def test_queue_param_records_and_bad_input():
    q = SpscQueue(4)
    q.push_event(7, kind=1, param=12, value=0.25)
    assert q.pop_event() == (7, 0, 0, 0, 1, 12, 0.25)
    with pytest.raises(ValueError):
        q.push_event(0, 0x190, 0, 0)
    with pytest.raises(ValueError):
        SpscQueue(0)


def test_pool_exhaustion_stats_and_errors():
    pool = RtPool(100, 3)
    blocks = [pool.allocate() for _ in range(3)]
    assert None not in blocks and len(set(blocks)) == 3
    assert all(b % 64 == 0 for b in blocks)     # cache-line aligned
    assert pool.allocate() is None
    s = pool.stats
    assert (s["in_use"], s["high_water"], s["failures"]) == (3, 3, 1)
    pool.release(blocks[1])
    with pytest.raises(ValueError, match="double free"):
        pool.release(blocks[1])
    with pytest.raises(ValueError):
        pool.release(blocks[0] + 8)             # not a block start
    assert pool.stats["bad_frees"] == 2 and pool.stats["in_use"] == 2
    again = pool.allocate()
    assert again == blocks[1]                   # LIFO reuse of the freed block
    mv = pool.view(again)
    mv[:5] = b"hello"
    assert bytes(pool.view(again)[:5]) == b"hello"
    with pytest.raises(ValueError):
        RtPool(0, 4)


def test_clock_counts_frames():
    c = SampleClock(48000)
    c.add(24000)
    c.add(24000)
    assert c.frames == 48000 and c.seconds == 1.0
    with pytest.raises(ValueError):
        SampleClock(0)


def test_timing_percentiles_and_overruns():
    t = TimingStats(48000)
    durations = np.linspace(100e-6, 2000e-6, 2000)   # deadline of 64 frames = 1333 µs
    for d in durations:
        t.add(float(d), 64)
    s = t.snapshot()
    assert s["callbacks"] == 2000 and s["frames"] == 128000
    assert s["max_us"] == pytest.approx(2000, rel=1e-6)
    for q in (0.5, 0.99, 0.999):
        exact = np.quantile(durations, q) * 1e6
        assert t.percentile(q) == pytest.approx(exact, rel=0.045)   # bins are 4.4 % wide
    assert s["overruns"] == int(np.sum(durations > 64 / 48000))
    assert s["deadline_us"] == pytest.approx(1333.33, rel=1e-4)
    assert s["p99_ratio"] == pytest.approx(s["p99_us"] / s["deadline_us"])
    edges, counts = t.histogram()
    assert sum(counts) == 2000 and edges == sorted(edges)
    t.reset()
    assert t.count == 0 and np.isnan(t.percentile(0.5))
    with pytest.raises(ValueError):
        t.add(float("nan"), 64)
