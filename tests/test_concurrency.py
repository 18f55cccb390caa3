"""Concurrency stress with real threads and the GIL released on both sides.

Each test runs a few seconds at most: long enough for millions of reads and
hundreds of thousands of batches on two cores, bounded in time.
"""
import threading


from fmcore_rt import AtomicParams, RtPool, SpscQueue
from fmcore_rt import _stress


def run_threads(*targets):
    results = [None] * len(targets)

    def wrap(i, f):
        results[i] = f()

    threads = [threading.Thread(target=wrap, args=(i, f)) for i, f in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a stress thread hung"
    return results


def test_batches_never_torn_and_single_sets_never_go_back():
    p = AtomicParams()
    for i in range(256):
        p.add(f"s{i}", 0, 1 << 25, 0, smoothing=0)
    batch, single, (reads, torn, batches_seen, distinct, regress) = run_threads(
        lambda: _stress.param_batch_writer(p, 0, 200, 10**12, 2.0),
        lambda: _stress.param_single_writer(p, 250, 10**12, 2.0),
        lambda: _stress.param_reader(p, 0, 200, 250, 2.0, 1_000_000),
    )
    assert reads >= 1_000_000
    assert batch > 1000 and single > 1000
    assert batches_seen > 100 and distinct > 100   # the reader really saw batches change
    assert torn == 0
    assert regress == 0
    # after the writers stop the reader adopts the last values exactly
    p.audio_block(0)
    t = p.audio_targets()
    assert t["s0"] == t["s199"] == batch and t["s250"] == single


def test_queue_no_loss_no_duplicate_order_kept():
    q = SpscQueue(256)   # small: the producer often finds it full
    n = 3_000_000
    pushed, (received, errors) = run_threads(
        lambda: _stress.queue_producer(q, n, 20.0),
        lambda: _stress.queue_consumer(q, n, 20.0),
    )
    assert pushed == n and received == n and errors == 0
    assert len(q) == 0


def test_pool_never_hands_a_block_out_twice():
    pool = RtPool(64, 40)   # 3 threads x 16 wanted > 40: exhaustion happens too
    results = run_threads(*[
        (lambda tag=tag: _stress.pool_hammer(pool, tag, 10**9, 16, 2.0)) for tag in (1, 2, 3)
    ])
    allocs = sum(r[1] for r in results)
    fails = sum(r[2] for r in results)
    assert allocs > 100_000
    assert sum(r[3] for r in results) == 0        # no stamp ever overwritten by another thread
    assert sum(r[4] for r in results) == 0        # every free accepted
    s = pool.stats
    assert s["in_use"] == 0 and s["high_water"] <= 40
    assert s["failures"] == fails
    assert sorted(pool.allocate() for _ in range(40)).count(None) == 0   # every block came back


def test_a_batch_and_a_single_set_racing_on_one_slot_end_in_agreement():
    # issue 14.6: whichever write wins, the audio side must end with what control-side reads return
    p = AtomicParams()
    for i in range(256):
        p.add(f"s{i}", -(1 << 24), 1 << 24, 0, smoothing=0)
    rounds = 20_000
    race = _stress.ParamRace(p, rounds, 60.0)
    _, (done, disagree, lost) = run_threads(race.batch_side, race.audio_side)
    assert done == rounds
    assert disagree == 0, f"{disagree} of {rounds} rounds left control and audio disagreeing"
    assert lost == 0
