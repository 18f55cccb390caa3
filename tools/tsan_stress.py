"""Stress driver for the ThreadSanitizer build of fmcore_rt's primitives (``make tsan``).

Runs the lock-free structures from several threads at once, with the GIL
released, under a ThreadSanitizer build of ``fmcore_rt`` (``build/tsan``):
the parameter store (batch writers, single setters and the audio side, plus
the batch/single race rounds), the SPSC queue, the real-time pool and the
processor's in-use guard (two threads entering one processor). TSan reports
any data race in their memory orders and ends the process with exit code 66
(``TSAN_OPTIONS=halt_on_error=1 exitcode=66``); the workloads check their
own results too.

``--planted`` runs a deliberate race instead and must be reported: it shows
the sanitizer is really watching (run it expecting exit code 66).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time


def run_threads(*targets):
    results = [None] * len(targets)
    errors = []

    def wrap(i, f):
        try:
            results[i] = f()
        except BaseException as e:   # reported below, with the others
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i, f)) for i, f in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        if t.is_alive():
            sys.exit("tsan_stress: a stress thread hung")
    if errors:
        raise errors[0]
    return results


def check(what, ok, detail):
    print(f"  {what:<44} {'ok' if ok else 'FAILED'}  {detail}", flush=True)
    if not ok:
        sys.exit(f"tsan_stress: {what} failed: {detail}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="wall time of each timed workload")
    ap.add_argument("--planted", action="store_true", help="run a deliberate data race (must be reported)")
    args = ap.parse_args()

    import fmcore_rt
    from fmcore_rt import AtomicParams, RtPool, SpscQueue, _stress

    where = os.path.dirname(fmcore_rt.__file__)
    print(f"tsan_stress: fmcore_rt from {where}", flush=True)
    if "LD_PRELOAD" not in os.environ or "tsan" not in os.environ["LD_PRELOAD"]:
        sys.exit("tsan_stress: libtsan is not preloaded (run it through `make tsan`)")
    if os.sep + os.path.join("build", "tsan") + os.sep not in where + os.sep:
        sys.exit("tsan_stress: this is not the ThreadSanitizer build of fmcore_rt (build/tsan)")

    if args.planted:
        run_threads(lambda: _stress.racy_increments(0.5), lambda: _stress.racy_increments(0.5))
        print("tsan_stress: the planted race was NOT reported", flush=True)
        return 0

    t = args.seconds
    print("parameter store", flush=True)
    p = AtomicParams()
    for i in range(256):
        p.add(f"s{i}", 0, 1 << 25, 0, smoothing=0.001)
    p.prepare(48000)
    b1, b2, single, (reads, torn, seen, distinct, regress) = run_threads(
        lambda: _stress.param_batch_writer(p, 0, 200, 10**12, t),
        lambda: _stress.param_batch_writer(p, 0, 200, 10**12, t),   # two batch writers: the mutex
        lambda: _stress.param_single_writer(p, 250, 10**12, t),
        lambda: _stress.param_reader(p, 0, 200, 250, t, 1000),
    )
    check("batches never torn, single sets never go back", torn == 0 and regress == 0,
          f"{reads} blocks, {b1 + b2} batches ({seen} adopted), {single} single sets")
    p2 = AtomicParams()
    for i in range(64):
        p2.add(f"r{i}", -(1 << 24), 1 << 24, 0, smoothing=0)
    race = _stress.ParamRace(p2, 2000, 10 * t)
    _, (done, disagree, lost) = run_threads(race.batch_side, race.audio_side)
    check("batch/single races end in agreement", done == 2000 and disagree == 0 and lost == 0,
          f"{done} rounds, {disagree} disagreements, {lost} lost batches")

    print("SPSC queue", flush=True)
    q = SpscQueue(64)
    n = 200_000
    pushed, (received, errors) = run_threads(lambda: _stress.queue_producer(q, n, 10 * t),
                                             lambda: _stress.queue_consumer(q, n, 10 * t))
    check("no loss, no duplicate, order kept", pushed == n and received == n and errors == 0,
          f"{received} of {n} records")

    print("real-time pool", flush=True)
    pool = RtPool(64, 24)
    res = run_threads(*[(lambda tag=tag: _stress.pool_hammer(pool, tag, 10**9, 12, t)) for tag in (1, 2, 3)])
    check("a block is never handed out twice", sum(r[3] for r in res) == 0 and sum(r[4] for r in res) == 0,
          f"{sum(r[1] for r in res)} allocations, {sum(r[2] for r in res)} exhausted")

    print("processor in-use guard", flush=True)
    probe = _stress.OverlapProbe()
    probe.prepare(48000, 64)
    a, b = run_threads(lambda: _stress.processor_contention(probe, t, True),
                       lambda: _stress.processor_contention(probe, t, False))
    check("one thread renders at a time", probe.overlaps == 0 and a[0] + b[0] > 0 and a[1] + b[1] > 0,
          f"{a[0] + b[0]} blocks rendered, {a[1] + b[1]} refused as busy, {probe.overlaps} overlaps")
    print("tsan_stress: no data race reported", flush=True)
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    rc = main()
    print(f"tsan_stress: {time.monotonic() - started:.1f} s", flush=True)
    sys.exit(rc)
