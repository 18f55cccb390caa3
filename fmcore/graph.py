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

Edges listed more than once (the same ``src -> dst``, or the same feedback
edge) are merged into one whose amount is their sum: phase modulation adds,
so the sound is the same, and a graph never holds more edges than the plan's
fixed capacity (12 x 12). The merged amount must still be within
``MAX_INDEX``; repeated carriers add their levels the same way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from fmcore.errors import FmcoreError

MAX_OPERATORS = 12
MAX_INDEX = 64.0  # radians; far beyond musical use, keeps phase arithmetic in range
MAX_CARRIER_LEVEL = 16.0


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
            e = _items(e, "an edge is (src, dst) or (src, dst, amount)")
            if len(e) == 2:
                return (_op_number(e[0], e), _op_number(e[1], e), 1.0)
            if len(e) == 3:
                return (_op_number(e[0], e), _op_number(e[1], e), _amount(e[2], e))
            raise GraphError(f"an edge is (src, dst) or (src, dst, amount), got {_short(e)}")

        def carrier(c):
            if isinstance(c, (int, float)) and not isinstance(c, bool):
                return (_op_number(c, c), 1.0)
            c = _items(c, "a carrier is op or (op, level)")
            if len(c) != 2:
                raise GraphError(f"a carrier is op or (op, level), got {_short(c)}")
            return (_op_number(c[0], c), _amount(c[1], c))

        return cls(int(n_ops), tuple(edge(e) for e in edges), tuple(carrier(c) for c in carriers),
                   tuple(edge(e) for e in feedback))

    def compile(self) -> CompiledGraph:
        """Validate and sort; raise ``GraphError`` naming the problem."""
        return compile_graph(self)


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _items(value, what: str) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise GraphError(f"{what}, got {_short(value)}")
    return tuple(value)


def _op_number(value, item) -> int:
    """An operator number: a whole number (JSON may give 2.0), never a bool, NaN or infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GraphError(f"operator numbers are whole numbers, got {_short(value)} in {_short(item)}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise GraphError(f"operator numbers are whole numbers, got {value!r} in {_short(item)}")
    return int(value)


def _amount(value, item) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GraphError(f"an amount is a number, got {_short(value)} in {_short(item)}")
    try:
        return float(value)
    except OverflowError:   # an int beyond float range
        raise GraphError(f"amount {_short(value, 30)} in {_short(item, 30)} is out of range") from None


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
        _check_amount(level, f"carrier {op}", MAX_CARRIER_LEVEL)
    merged_edges = _merge(g.edges, "edge", MAX_INDEX)
    merged_feedback = _merge(g.feedback, "feedback edge", MAX_INDEX)

    # Kahn's algorithm; ties broken by operator number so the order is stable.
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for s, d, _ in merged_edges:
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
    for s, d, a in merged_edges:
        mods[d - 1].append((s - 1, a))
    fbs: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for s, d, a in merged_feedback:
        fbs[d - 1].append((s - 1, a))
    level = [0.0] * n
    count = [0] * n
    for op, lv in g.carriers:
        level[op - 1] += lv
        count[op - 1] += 1
    for i in range(n):
        if count[i] > 1 and abs(level[i]) > MAX_CARRIER_LEVEL:
            raise GraphError(f"carrier {i + 1} is listed {count[i]} times; their levels add up to {level[i]:g}, "
                             f"outside [-{MAX_CARRIER_LEVEL:g}, {MAX_CARRIER_LEVEL:g}]")
    mask = sum(1 << i for i in range(n) if level[i] != 0.0)
    return CompiledGraph(n, tuple(order), tuple(tuple(m) for m in mods), tuple(tuple(f) for f in fbs),
                         tuple(level), mask)


def _merge(edges, what: str, limit: float) -> list[tuple[int, int, float]]:
    """One edge per (src, dst), amounts added, in order of first appearance; the sum within ``limit``."""
    amount: dict[tuple[int, int], float] = {}
    count: dict[tuple[int, int], int] = {}
    for s, d, a in edges:
        amount[(s, d)] = amount.get((s, d), 0.0) + a
        count[(s, d)] = count.get((s, d), 0) + 1
    for (s, d), total in amount.items():
        if count[(s, d)] > 1 and not abs(total) <= limit:
            raise GraphError(f"{what} {s}->{d} is listed {count[(s, d)]} times; duplicates are merged by adding "
                             f"their amounts, and the sum {total:g} is outside [-{limit:g}, {limit:g}]")
    return [(s, d, a) for (s, d), a in amount.items()]


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
