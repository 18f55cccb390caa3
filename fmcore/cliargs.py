"""Argument types for the command line: numbers checked with a message that says what was expected."""
from __future__ import annotations

import argparse
import math
from typing import Callable


def int_range(lo: int, hi: int | None = None, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse type accepting integers in lo..hi (hi None: no upper bound)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"expected {what} in {bound}, got {v}")
        return v
    return parse


def nonneg_float(text: str) -> float:
    """An argparse type accepting a finite number >= 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return v


def float_range(lo: float, hi: float, what: str = "a number") -> Callable[[str], float]:
    """An argparse type accepting finite numbers in lo..hi."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (math.isfinite(v) and lo <= v <= hi):
            raise argparse.ArgumentTypeError(f"expected {what} in {lo:g}..{hi:g}, got {text}")
        return v
    return parse


positive_int = int_range(1)
