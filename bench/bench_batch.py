"""Batch rendering: throughput at 1 and 2 worker threads (the ratio is the figure), and memory over a long batch."""
import resource

import pytest

from fmcore.batch import render_jobs

NAMES = ["E.Piano", "Finger Bass", "Tubular Bells", "Brass", "Warm Pad", "Saw Lead"]


def jobs(n, hold=0.5, release=0.5):
    return [{"id": str(i), "note": 36 + i % 48, "velocity": 100, "hold": hold, "release": release,
             "patch": NAMES[i % len(NAMES)], "output": f"j{i}.wav"} for i in range(n)]


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("workers", [1, 2])
def test_jobs_per_second(benchmark, tmp_path, workers):
    n = 64
    counter = iter(range(1000))

    def run():
        out = tmp_path / str(next(counter))
        s = render_jobs(jobs(n), workers=workers, out_dir=out)
        assert s.done == n
        return s

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(workers=workers, jobs=n, jobs_per_s=n / benchmark.stats.stats.mean,
                                audio_seconds_per_job=1.0)


def test_memory_flat_over_10000_short_jobs(benchmark, tmp_path):
    """RSS at the start and end of a 10,000-job batch, and after a second one (a leak keeps growing)."""
    render_jobs(jobs(200, 0.05, 0.05), workers=2, out_dir=tmp_path / "warm")
    start = rss_mb()

    def run():
        return render_jobs(jobs(10_000, 0.05, 0.05), workers=2, out_dir=tmp_path / "long", resume=False)

    s = benchmark.pedantic(run, rounds=1, iterations=1)
    end = rss_mb()
    del s
    run()
    end2 = rss_mb()
    benchmark.extra_info.update(rss_start_mb=start, rss_end_mb=end, rss_after_second_batch_mb=end2,
                                rss_growth_second_batch_mb=end2 - end, jobs=10_000,
                                jobs_per_s=10_000 / benchmark.stats.stats.mean)
