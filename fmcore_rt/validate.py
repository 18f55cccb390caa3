"""The real-time safety validator: run a processor through a scripted workload.

``validate(processor, sample_rate, block, blocks, workload)`` drives any
``Processor`` the way an audio callback does (one ``run_block`` per block,
GIL released) while a second thread plays the control side (parameter
automation, patch switches), then reports what happened: checker violations
by function (when ``librtcheck`` is preloaded into this process), each
block's wall time and its thread's CPU time as fractions of the deadline,
overruns of each, pool failures and dropped events.

The verdict: PASS needs the checker active (preloaded, and seeing the
real-time sections of every block), zero violations, finite output and no
block whose *CPU time* exceeds its deadline. Wall-time overruns are reported
but not held against the processor: on a loaded machine the thread can be
preempted, which costs wall time but no CPU time. The CPU clock is read
around each block, outside the real-time section (it is a system call).

A workload is an object with any of these methods (all optional):

- ``setup(processor)``: before the run, on the calling thread;
- ``events(block_index, nframes) -> sequence of (frame, status, data1, data2)``:
  the MIDI events of one block (computed before the run starts, so the
  audio loop never calls Python);
- ``control(processor, stop_event)``: runs on its own thread during the
  run, until ``stop_event`` is set (parameter automation, patch switches);
- ``counters(processor) -> dict``: extra counts for the report
  (``events_dropped``, ``pool_failures``, ``voices_stolen``, ...).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np

from fmcore_rt import rtcheck as _rtcheck


@dataclass
class ValidationReport:
    """The outcome of a validation run; ``ok`` (PASS) needs an active checker and no failure."""

    processor: str
    sample_rate: float
    block: int
    blocks: int
    checker_active: bool
    violations: dict[str, int] = field(default_factory=dict)       # by function
    categories: dict[str, int] = field(default_factory=dict)       # by category
    timing: dict[str, float] = field(default_factory=dict)         # wall time per block
    counters: dict[str, int] = field(default_factory=dict)
    nonfinite_samples: int = 0
    cpu_timing: dict[str, float] = field(default_factory=dict)     # thread CPU time per block
    sections: int = 0                                              # real-time sections the checker saw

    @property
    def total_violations(self) -> int:
        return sum(self.violations.values())

    @property
    def cpu_overruns(self) -> int:
        """Blocks whose thread CPU time exceeded their deadline (the processor's own cost)."""
        return int(self.cpu_timing.get("overruns", 0))

    @property
    def wall_overruns(self) -> int:
        """Blocks whose wall time exceeded their deadline (includes time the thread was preempted)."""
        return int(self.timing.get("overruns", 0))

    @property
    def failures(self) -> list[str]:
        """Why the run is not a PASS (empty when it is)."""
        out = []
        if not self.checker_active:
            out.append("the real-time checker was not active: nothing was checked")
        if self.total_violations:
            out.append(f"{self.total_violations} real-time violations")
        if self.cpu_overruns:
            out.append(f"{self.cpu_overruns} blocks over their deadline in CPU time")
        if self.nonfinite_samples:
            out.append(f"{self.nonfinite_samples} non-finite samples")
        return out

    @property
    def ok(self) -> bool:
        return not self.failures

    def table(self) -> str:
        """The report as an aligned text table."""
        rows = [
            ("processor", self.processor),
            ("blocks", f"{self.blocks} x {self.block} frames at {self.sample_rate:g} Hz "
                       f"({self.blocks * self.block / self.sample_rate:.1f} s of audio)"),
            ("checker", f"active (librtcheck preloaded, {self.sections} real-time sections watched)"
             if self.checker_active else
             "NOT ACTIVE: no real-time section was checked; run under `python -m fmcore_rt.rtcheck -- ...` "
             "(`fmcore validate` does, unless --no-preload)"),
            ("violations", str(self.total_violations) if self.checker_active else "not checked"),
        ]
        for fn, n in sorted(self.violations.items(), key=lambda kv: -kv[1]):
            rows.append((f"  {fn}", str(n)))
        for what, t in (("wall time", self.timing), ("CPU time", self.cpu_timing)):
            deadline = t.get("deadline_us", math.nan)
            for k in ("p50", "p99", "p999", "max"):
                us = t.get(f"{k}_us", math.nan)
                rows.append((f"{what} {k}", f"{us:8.1f} us = {us / deadline:6.1%} of the {deadline:.0f} us deadline"))
        rows.append(("overruns, CPU time", f"{self.cpu_overruns} (blocks whose thread CPU time passed the deadline)"))
        rows.append(("overruns, wall time", f"{self.wall_overruns} (include preemption by other processes: "
                                            f"reported, not failed)"))
        rows.append(("non-finite samples", str(self.nonfinite_samples)))
        for k, v in sorted(self.counters.items()):
            rows.append((k.replace("_", " "), str(v)))
        rows.append(("result", "PASS" if self.ok else "FAIL: " + "; ".join(self.failures)))
        w = max(len(r[0]) for r in rows)
        return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


def validate(processor, sample_rate: float = 48000, block: int = 64, blocks: int = 2000,
             workload=None, channels: int = 2) -> ValidationReport:
    """Run ``processor`` for ``blocks`` blocks of ``block`` frames under ``workload``.

    The processor is prepared for (sample_rate, block). Returns a
    ``ValidationReport``; violations are counted only when the checker
    library is preloaded into this process (``fmcore_rt.rtcheck.available()``),
    and without it the report is never a PASS.
    """
    if block < 1 or blocks < 1:
        raise ValueError("block and blocks must be positive")
    processor.prepare(sample_rate, block)
    if workload is not None and hasattr(workload, "setup"):
        workload.setup(processor)
    # All events are computed before the run: the audio loop never calls Python.
    per_block = []
    for b in range(blocks):
        ev = workload.events(b, block) if workload is not None and hasattr(workload, "events") else ()
        per_block.append(ev)
    out = np.zeros((channels, block), np.float32)
    nonfinite = 0
    stop = threading.Event()
    ctl = None
    if workload is not None and hasattr(workload, "control"):
        ctl = threading.Thread(target=workload.control, args=(processor, stop), name="validate-control")
    processor.timing.reset()
    processor.cpu_timing.reset()
    measured = processor.measure_cpu
    processor.measure_cpu = True
    with _rtcheck.watch() as report:
        if ctl:
            ctl.start()
        try:
            for b in range(blocks):
                out.fill(0.0)
                processor.process(out, per_block[b])
                if not np.isfinite(out).all():
                    nonfinite += int(out.size - np.count_nonzero(np.isfinite(out)))
        finally:
            processor.measure_cpu = measured
            stop.set()
            if ctl:
                ctl.join()
    counters = {}
    if workload is not None and hasattr(workload, "counters"):
        counters = dict(workload.counters(processor))
    name = type(processor).__name__
    if getattr(processor, "simd", None):           # a processor that can say which code path it runs
        name += f" ({processor.simd} kernels)"
    return ValidationReport(
        processor=name, sample_rate=float(sample_rate), block=block, blocks=blocks,
        # active means seen at work: every block entered its real-time section under the checker
        checker_active=report.active and report.sections >= blocks, violations=dict(report.by_function),
        categories=dict(report.by_category), timing=processor.timing.snapshot(),
        counters=counters, nonfinite_samples=nonfinite, cpu_timing=processor.cpu_timing.snapshot(),
        sections=report.sections)
