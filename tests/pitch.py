"""Pitch measurements the tests share: a clean sine's frequency, intervals in cents."""
import math

import numpy as np


def estimate_hz(x, sr: int = 48000) -> float:
    """Frequency of a clean sine: rising zero crossings with linear interpolation."""
    s = np.signbit(x)
    idx = np.flatnonzero(s[:-1] & ~s[1:])
    t = idx + x[idx] / (x[idx] - x[idx + 1])
    return (len(t) - 1) / ((t[-1] - t[0]) / sr)


def cents(hz: float, ref: float) -> float:
    return 1200 * math.log2(hz / ref)
