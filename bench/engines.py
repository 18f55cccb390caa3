"""The engines the speed benchmarks compare, and the workloads they run.

- ``current(simd)``: ``fmcore.Synth`` on the given kernel path ("auto" = the best the
  CPU has, "baseline" = the portable SSE2 build);
- ``legacy()``: the engine as it was before the operator-major rewrite, a frozen copy
  (bench/legacy/legacy_engine.pyx, compiled on first use) measured in the same run, so
  speed-ups are ratios on one machine rather than figures from different days.

Times are the calling thread's CPU time (``time.thread_time``): the render runs on the
calling thread without the GIL, and CPU time is what other load on a shared machine
disturbs least.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import fmcore
from fmcore import Envelope, Operator, Patch
from fmcore.graph import Graph

SR = 48000
HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"


def legacy_class():
    sys.path.insert(0, str(HERE / "legacy"))
    try:
        import legacy_engine
    finally:
        sys.path.remove(str(HERE / "legacy"))
    return legacy_engine.LegacySynthCore


def make(engine: str, voices: int, block: int = 64):
    """A synth of ``engine`` ("auto", "baseline" or "legacy")."""
    if engine == "legacy":
        return legacy_class()(SR, voices, block)
    return fmcore.Synth(SR, max_voices=voices, max_block=block, simd=engine)


def stack_patch(n_ops: int) -> Patch:
    """``n_ops`` operators as modulator->carrier pairs (one carrier alone if odd), the top
    modulator of the first pair feeding back on itself; every envelope holds at full level,
    so every operator runs all the time."""
    edges = [(k + 1, k, 1.5) for k in range(1, n_ops, 2)]
    carriers = [k for k in range(1, n_ops + 1, 2)]
    fb = [(2, 2, 1.0)] if n_ops >= 2 else [(1, 1, 1.0)]
    graph = Graph.make(n_ops, edges, [(c, 1.0 / len(carriers)) for c in carriers], fb)
    ops = [Operator(ratio=[1, 2, 3, 1.5, 5, 0.5][k % 6], level=0.8,
                    env=Envelope(times=[0.0, 0.0, 0.0, 0.2], levels=[1.0, 1.0, 1.0, 0.0]))
           for k in range(n_ops)]
    return Patch.from_graph(graph, ops)


def rom1a(index: int) -> Patch:
    """Voice ``index`` (0-based) of the DX7 factory bank ROM1A (0 = BRASS 1, 10 = E.PIANO 1)."""
    from fmcore.dx7.model import voice_to_patch
    return voice_to_patch(fmcore.load_bank(SHARED / "syx" / "dx7-rom1a_eurorack.syx")[index])


def chord(voices: int) -> list[tuple[int, int, int, int]]:
    """``voices`` different notes at frame 0: minor thirds up from C2 (as far as 20 notes
    go), then the notes left between C1 and C9 (a repeated note would replace a voice)."""
    notes = [36 + 3 * i for i in range(min(voices, 20))]
    notes += [n for n in range(24, 128) if n not in notes][:voices - len(notes)]
    return [(0, 0x90, n, 100) for n in notes]


def held_chord_seconds(synth, patch: Patch, voices: int, seconds: float) -> float:
    """Thread CPU seconds to render ``seconds`` of a ``voices``-note chord held on ``patch``,
    from the note-ons, in one ``process`` call (blocks of the synth's max_block inside)."""
    synth.reset()
    synth.set_patch(patch)
    out = np.zeros((2, int(seconds * SR)), np.float32)
    ev = chord(voices)
    t = time.thread_time()
    synth.process(out, ev)
    return time.thread_time() - t


def interleaved(runs: dict, rounds: int) -> dict[str, float]:
    """Median of ``rounds`` runs of each callable in ``runs``, the runs interleaved."""
    got = {k: [] for k in runs}
    for _ in range(rounds):
        for k, fn in runs.items():
            got[k].append(fn())
    return {k: float(np.median(v)) for k, v in got.items()}
