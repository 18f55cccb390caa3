"""The DX7's 32 algorithms as operator graphs.

Operators are numbered 1..6 as on the DX7 panel (OP1 at the bottom of the
chart). Each entry lists the modulation edges (src, dst), the carriers and the
feedback edge (src, dst): a self-loop for most algorithms, a loop from a lower
operator back to the top of its stack for algorithms 4 and 6.
"""
from __future__ import annotations

import math

from fmcore.graph import Graph, GraphError

# Modulation index of a full-level DX7 modulator, in radians: an operator at output
# level 99 and envelope level 99 swings its target's phase by 4*pi (measured against the
# reference emulation's renders in fmcore.dx7.model; 2*pi and 8*pi both match worse).
DX7_FULL_INDEX = 4.0 * math.pi

# (edges, carriers, feedback edge) per algorithm, from the DX7 algorithm chart.
_CHART: tuple[tuple[tuple[tuple[int, int], ...], tuple[int, ...], tuple[int, int]], ...] = (
    (((2, 1), (6, 5), (5, 4), (4, 3)), (1, 3), (6, 6)),                      # 1
    (((2, 1), (6, 5), (5, 4), (4, 3)), (1, 3), (2, 2)),                      # 2
    (((3, 2), (2, 1), (6, 5), (5, 4)), (1, 4), (6, 6)),                      # 3
    (((3, 2), (2, 1), (6, 5), (5, 4)), (1, 4), (4, 6)),                      # 4
    (((2, 1), (4, 3), (6, 5)), (1, 3, 5), (6, 6)),                           # 5
    (((2, 1), (4, 3), (6, 5)), (1, 3, 5), (5, 6)),                           # 6
    (((2, 1), (4, 3), (5, 3), (6, 5)), (1, 3), (6, 6)),                      # 7
    (((2, 1), (4, 3), (5, 3), (6, 5)), (1, 3), (4, 4)),                      # 8
    (((2, 1), (4, 3), (5, 3), (6, 5)), (1, 3), (2, 2)),                      # 9
    (((3, 2), (2, 1), (5, 4), (6, 4)), (1, 4), (3, 3)),                      # 10
    (((3, 2), (2, 1), (5, 4), (6, 4)), (1, 4), (6, 6)),                      # 11
    (((2, 1), (4, 3), (5, 3), (6, 3)), (1, 3), (2, 2)),                      # 12
    (((2, 1), (4, 3), (5, 3), (6, 3)), (1, 3), (6, 6)),                      # 13
    (((2, 1), (4, 3), (5, 4), (6, 4)), (1, 3), (6, 6)),                      # 14
    (((2, 1), (4, 3), (5, 4), (6, 4)), (1, 3), (2, 2)),                      # 15
    (((2, 1), (3, 1), (5, 1), (4, 3), (6, 5)), (1,), (6, 6)),                # 16
    (((2, 1), (3, 1), (5, 1), (4, 3), (6, 5)), (1,), (2, 2)),                # 17
    (((2, 1), (3, 1), (4, 1), (5, 4), (6, 5)), (1,), (3, 3)),                # 18
    (((3, 2), (2, 1), (6, 4), (6, 5)), (1, 4, 5), (6, 6)),                   # 19
    (((3, 1), (3, 2), (5, 4), (6, 4)), (1, 2, 4), (3, 3)),                   # 20
    (((3, 1), (3, 2), (6, 4), (6, 5)), (1, 2, 4, 5), (3, 3)),                # 21
    (((2, 1), (6, 3), (6, 4), (6, 5)), (1, 3, 4, 5), (6, 6)),                # 22
    (((3, 2), (6, 4), (6, 5)), (1, 2, 4, 5), (6, 6)),                        # 23
    (((6, 3), (6, 4), (6, 5)), (1, 2, 3, 4, 5), (6, 6)),                     # 24
    (((6, 4), (6, 5)), (1, 2, 3, 4, 5), (6, 6)),                             # 25
    (((3, 2), (5, 4), (6, 4)), (1, 2, 4), (6, 6)),                           # 26
    (((3, 2), (5, 4), (6, 4)), (1, 2, 4), (3, 3)),                           # 27
    (((2, 1), (5, 4), (4, 3)), (1, 3, 6), (5, 5)),                           # 28
    (((4, 3), (6, 5)), (1, 2, 3, 5), (6, 6)),                                # 29
    (((5, 4), (4, 3)), (1, 2, 3, 6), (5, 5)),                                # 30
    (((6, 5),), (1, 2, 3, 4, 5), (6, 6)),                                    # 31
    ((), (1, 2, 3, 4, 5, 6), (6, 6)),                                        # 32
)

N_ALGORITHMS = len(_CHART)


def algorithm_chart(number: int) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...], tuple[int, int]]:
    """The raw chart entry of DX7 algorithm ``number`` (1..32): (edges, carriers, feedback edge)."""
    if not isinstance(number, int) or not 1 <= number <= N_ALGORITHMS:
        raise GraphError(f"DX7 algorithms are numbered 1..{N_ALGORITHMS}, got {number!r}")
    return _CHART[number - 1]


def algorithm(number: int, index: float = DX7_FULL_INDEX, feedback: float = 0.0,
              carrier_level: float = 1.0) -> Graph:
    """DX7 algorithm ``number`` (1..32) as a ``Graph``.

    ``index`` is the amount of every modulation edge (radians at full
    modulator level), ``feedback`` the amount of the feedback edge, and
    ``carrier_level`` the output level of each carrier.
    """
    edges, carriers, fb = algorithm_chart(number)
    return Graph.make(6, [(s, d, index) for s, d in edges], [(c, carrier_level) for c in carriers],
                      [(fb[0], fb[1], feedback)])
