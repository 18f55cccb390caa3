"""How the engine runs a compiled operator graph: which operators are serial in time.

The engine runs most operators operator-major: one operator over a whole control chunk
at a time, vectorised over samples. An operator on a feedback loop cannot run that way,
because each of its samples depends on the loop's previous sample. Those operators (the
*serial* ones) run sample by sample, but across voices: one voice per SIMD lane, so a
chord of voices with the same loop shape fills the lanes.

``serial_stages`` splits a ``CompiledGraph`` into:

- ``serial``: every operator that lies on a path between two endpoints of feedback edges
  (a self-loop is its own path), in processing order; feedback edges of amount 0 are
  left out, so a DX7 voice with feedback 0 runs wholly operator-major;
- ``pre``: the other operators that modulate a serial one (directly or through others);
  they run first, and their modulation reaches the serial loop precomputed;
- the rest run after the serial loop, reading its output.
"""
from __future__ import annotations

from dataclasses import dataclass

from fmcore.graph import CompiledGraph


@dataclass(frozen=True)
class Stages:
    serial: tuple[int, ...]                               # 0-based, processing order
    pre: tuple[int, ...]                                  # 0-based, processing order
    internal: tuple[tuple[tuple[int, float], ...], ...]   # per serial op: (serial index of src, amount)
    feedback: tuple[tuple[tuple[int, float], ...], ...]   # per serial op: (serial index of src, amount)
    external: tuple[tuple[tuple[int, float], ...], ...]   # per serial op: (op index of a pre src, amount)


def _descendants(n: int, succ: list[list[int]]) -> list[set[int]]:
    reach = [set() for _ in range(n)]
    for start in range(n):
        seen = {start}
        todo = [start]
        while todo:
            u = todo.pop()
            for w in succ[u]:
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        reach[start] = seen
    return reach


def serial_stages(cg: CompiledGraph) -> Stages:
    """Split ``cg`` into the engine's stages (see the module's docstring)."""
    n = cg.n_ops
    # a feedback edge of amount 0 changes nothing: its operator can run operator-major
    fb = [tuple((s, a) for s, a in cg.feedback[k] if a != 0.0) for k in range(n)]
    ends = {src for fbs in fb for src, _ in fbs}
    ends |= {dst for dst in range(n) if fb[dst]}
    if not ends:
        return Stages((), (), (), (), ())
    succ: list[list[int]] = [[] for _ in range(n)]
    for dst in range(n):
        for src, _ in cg.modulators[dst]:
            succ[src].append(dst)
    reach = _descendants(n, succ)
    serial_set = {k for k in range(n)
                  if any(k in reach[a] for a in ends) and any(b in reach[k] for b in ends)}
    serial = tuple(k for k in cg.order if k in serial_set)
    pre = tuple(k for k in cg.order
                if k not in serial_set and any(s in reach[k] for s in serial_set))
    index = {k: i for i, k in enumerate(serial)}
    internal, external = [], []
    for k in serial:
        internal.append(tuple((index[s], a) for s, a in cg.modulators[k] if s in serial_set))
        external.append(tuple((s, a) for s, a in cg.modulators[k] if s not in serial_set))
    feedback = tuple(tuple((index[s], a) for s, a in fb[k]) for k in serial)
    return Stages(serial, pre, tuple(internal), feedback, tuple(external))
