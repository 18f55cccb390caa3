"""fmcore_rt primitives: snapshot, single set, queue, pool; lock-free vs mutex under contention."""
import threading
import time

import numpy as np

import pytest

import contention
from fmcore_rt import AtomicParams, RtPool, SpscQueue
from fmcore_rt import _stress

N = 10_000


def full_store():
    p = AtomicParams()
    for i in range(256):
        p.add(f"p{i}", 0, 1024, 0, smoothing=0.005)
    p.prepare(48000)
    return p


def test_snapshot_256_params(benchmark):
    p = full_store()
    benchmark(contention.lockfree_read, p, N)
    benchmark.extra_info["per_op_ns"] = benchmark.stats.stats.mean / N * 1e9


def test_single_set(benchmark):
    p = full_store()
    benchmark(contention.lockfree_set, p, N)
    benchmark.extra_info["per_op_ns"] = benchmark.stats.stats.mean / N * 1e9


def test_single_set_two_writers(benchmark):
    """Two threads single-setting different slots at once: the cost of a set under contention."""
    p = full_store()
    n = 1_000_000

    def two():
        ts = [threading.Thread(target=_stress.param_single_writer, args=(p, slot, n, 30.0)) for slot in (3, 131)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    benchmark.pedantic(two, rounds=10, iterations=1)
    benchmark.extra_info["per_op_ns"] = benchmark.stats.stats.mean / n * 1e9


def test_queue_push_pop(benchmark):
    q = SpscQueue(N)

    def push_pop():
        _stress.queue_producer(q, N, 1.0)
        _stress.queue_consumer(q, N, 1.0)

    benchmark(push_pop)
    benchmark.extra_info["per_op_ns"] = benchmark.stats.stats.mean / N * 1e9


def test_pool_alloc_free(benchmark):
    pool = RtPool(256, 64)
    benchmark(_stress.pool_hammer, pool, 1, N // 16, 16, 10.0)
    benchmark.extra_info["per_op_ns"] = benchmark.stats.stats.mean / N * 1e9


def _with_writer(target, write_until, fn):
    stop = contention.Flag()
    writer = threading.Thread(target=write_until, args=(target, stop))
    writer.start()
    try:
        time.sleep(0.01)
        return fn()
    finally:
        stop.set()
        writer.join()


IMPLS = {
    "lockfree": (full_store, contention.lockfree_raw_read, contention.lockfree_write_until),
    "mutex": (contention.MutexParams, contention.MutexParams.read, contention.MutexParams.write_until),
}


@pytest.mark.parametrize("impl", list(IMPLS))
def test_read_under_contention(benchmark, impl):
    """Mean cost of taking 256 values while another thread writes them."""
    make, read, write = IMPLS[impl]
    target = make()
    _with_writer(target, write, lambda: benchmark(read, target, N))
    benchmark.extra_info["per_snapshot_ns"] = benchmark.stats.stats.mean / N * 1e9


def test_contention_ratio(benchmark):
    """Both measured in one run, interleaved; ratios of mean and of the tail are the figures.

    The tail matters more than the mean for audio: a mutex reader waits
    whenever the writer holds the lock (and longer if the writer is preempted
    while holding it); the lock-free reader never waits.
    """
    def measure():
        res = {}
        for _ in range(3):
            for name, (make, _, write) in IMPLS.items():
                target = make()
                d = _with_writer(target, write, lambda: contention.timed_reads(target, 200_000))
                res.setdefault(name, []).append(d)
        return {k: np.concatenate(v) for k, v in res.items()}

    res = benchmark.pedantic(measure, rounds=1, iterations=1)
    for name, d in res.items():
        benchmark.extra_info[f"{name}_mean_ns"] = float(d.mean())
        benchmark.extra_info[f"{name}_p999_ns"] = float(np.quantile(d, 0.999))
        benchmark.extra_info[f"{name}_max_ns"] = float(d.max())
    e = benchmark.extra_info
    e["mutex_over_lockfree_mean"] = e["mutex_mean_ns"] / e["lockfree_mean_ns"]
    e["mutex_over_lockfree_p999"] = e["mutex_p999_ns"] / e["lockfree_p999_ns"]
    e["mutex_over_lockfree_max"] = e["mutex_max_ns"] / e["lockfree_max_ns"]


def test_full_audio_side_block_start(benchmark):
    """begin_block on 256 slots under a writer: snapshot + ordering + smoothing ramps."""
    p = full_store()
    _with_writer(p, contention.lockfree_write_until, lambda: benchmark(contention.lockfree_read, p, N))
    benchmark.extra_info["per_block_ns"] = benchmark.stats.stats.mean / N * 1e9
