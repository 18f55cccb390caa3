"""Operator graphs: which operator modulates which, compiled to a flat plan.

A graph has ``n_ops`` operators numbered from 1 (DX7 style), modulation
edges ``src -> dst`` with an amount, carriers ``op -> output`` with a level,
and feedback edges. An edge's amount is the modulation index in radians per
unit of the source's output: a sine source at full level through an edge of
amount I gives a peak phase deviation of I radians at the destination, so the
sidebands follow |J_k(I)|.

Cycles are legal only as explicit feedback edges, which read the source's
output one sample late (the DX7's two-sample average). Compilation (on the
control thread) validates, sorts topologically with Kahn's algorithm and
yields a ``CompiledGraph`` with the operator order and modulator lists that
the engine copies into its C plan.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from fmcore.errors import FmcoreError

MAX_OPERATORS = 12
MAX_INDEX = 64.0  # radians; far beyond musical use, keeps phase arithmetic in range


class GraphError(FmcoreError, ValueError):
    """An operator graph that cannot be compiled (bad reference, illegal cycle, too many operators)."""


@dataclass(frozen=True)
class Graph:
    """An operator graph (1-based operator numbers)."""

    n_ops: int
    edges: tuple[tuple[int, int, float], ...] = ()
    carriers: tuple[tuple[int, float], ...] = ()
    feedback: tuple[tuple[int, int, float], ...] = ()

    @classmethod
    def make(cls, n_ops: int, edges: Iterable = (), carriers: Iterable = (), feedback: Iterable = ()) -> Graph:
        """Build a graph; edge amounts default to 1.0 rad and carrier levels to 1.0.

        ``edges``/``feedback`` items are ``(src, dst)`` or ``(src, dst, amount)``;
        ``carriers`` items are ``op`` or ``(op, level)``.
        """
        def edge(e):
            e = tuple(e)
            if len(e) == 2:
                return (int(e[0]), int(e[1]), 1.0)
            if len(e) == 3:
                return (int(e[0]), int(e[1]), float(e[2]))
            raise GraphError(f"an edge is (src, dst) or (src, dst, amount), got {e!r}")

        def carrier(c):
            if isinstance(c, (int,)):
                return (int(c), 1.0)
            c = tuple(c)
            if len(c) != 2:
                raise GraphError(f"a carrier is op or (op, level), got {c!r}")
            return (int(c[0]), float(c[1]))

        return cls(int(n_ops), tuple(edge(e) for e in edges), tuple(carrier(c) for c in carriers),
                   tuple(edge(e) for e in feedback))

    def compile(self) -> CompiledGraph:
        """Validate and sort; raise ``GraphError`` naming the problem."""
        return compile_graph(self)


@dataclass(frozen=True)
class CompiledGraph:
    """The flat form the engine runs: 0-based operator indices in processing order."""

    n_ops: int
    order: tuple[int, ...]
    modulators: tuple[tuple[tuple[int, float], ...], ...]  # per op: (src, amount) read this sample
    feedback: tuple[tuple[tuple[int, float], ...], ...]    # per op: (src, amount) read one sample late
    carrier_level: tuple[float, ...]                      # per op; 0.0 = not a carrier
    carrier_mask: int = field(default=0)


def _check_op(n_ops: int, op: int, what: str) -> None:
    if not 1 <= op <= n_ops:
        raise GraphError(f"{what} refers to operator {op}, but the graph has operators 1..{n_ops}")


def _check_amount(value: float, what: str, limit: float) -> None:
    if not math.isfinite(value):
        raise GraphError(f"{what}: amount must be finite, got {value}")
    if abs(value) > limit:
        raise GraphError(f"{what}: amount {value} outside [-{limit}, {limit}]")


def compile_graph(g: Graph) -> CompiledGraph:
    """Validate ``g``, sort its operators topologically (Kahn) and flatten it."""
    n = g.n_ops
    if not 1 <= n <= MAX_OPERATORS:
        raise GraphError(f"a graph has 1..{MAX_OPERATORS} operators, got {n}")
    for s, d, a in g.edges:
        _check_op(n, s, f"edge {s}->{d}")
        _check_op(n, d, f"edge {s}->{d}")
        _check_amount(a, f"edge {s}->{d}", MAX_INDEX)
        if s == d:
            raise GraphError(f"edge {s}->{d} is a self-loop: declare it as a feedback edge")
    for s, d, a in g.feedback:
        _check_op(n, s, f"feedback edge {s}->{d}")
        _check_op(n, d, f"feedback edge {s}->{d}")
        _check_amount(a, f"feedback edge {s}->{d}", MAX_INDEX)
    if not g.carriers:
        raise GraphError("the graph has no carrier: nothing would reach the output")
    for op, level in g.carriers:
        _check_op(n, op, f"carrier {op}")
        _check_amount(level, f"carrier {op}", 16.0)

    # Kahn's algorithm; ties broken by operator number so the order is stable.
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for s, d, _ in g.edges:
        succ[s - 1].append(d - 1)
        indeg[d - 1] += 1
    ready = sorted(i for i in range(n) if indeg[i] == 0)
    order: list[int] = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
        ready.sort()
    if len(order) != n:
        raise GraphError(f"the modulation edges form a cycle {_find_cycle(n, g.edges)}; "
                         "a cycle is legal only as an explicit feedback edge")

    mods: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for s, d, a in g.edges:
        mods[d - 1].append((s - 1, a))
    fbs: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for s, d, a in g.feedback:
        fbs[d - 1].append((s - 1, a))
    level = [0.0] * n
    for op, lv in g.carriers:
        level[op - 1] += lv
    mask = sum(1 << i for i in range(n) if level[i] != 0.0)
    return CompiledGraph(n, tuple(order), tuple(tuple(m) for m in mods), tuple(tuple(f) for f in fbs),
                         tuple(level), mask)


def _find_cycle(n: int, edges) -> str:
    """One cycle among ``edges`` as "a -> b -> a" (1-based), for the error message."""
    succ: dict[int, list[int]] = {i: [] for i in range(1, n + 1)}
    for s, d, _ in edges:
        succ[s].append(d)
    state = dict.fromkeys(succ, 0)  # 0 new, 1 on stack, 2 done
    stack: list[int] = []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in succ[u]:
            if state[v] == 1:
                return stack[stack.index(v):] + [v]
            if state[v] == 0:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for u in succ:
        if state[u] == 0:
            cyc = visit(u)
            if cyc:
                return " -> ".join(map(str, cyc))
    return "(unknown)"
