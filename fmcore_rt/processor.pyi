from typing import Any, Sequence
import numpy as np
from fmcore_rt.timing import TimingStats
from fmcore_rt.clock import SampleClock
from fmcore_rt.messages import MidiMessageLike

class ProcessorBusyError(RuntimeError):
    """Another thread is inside this processor (rendering, resetting or preparing it)."""

class Processor:
    """Base of everything the host runs: prepare() sizes buffers, process() renders blocks without the GIL."""
    sample_rate: float
    max_block: int
    max_channels: int
    prepared: bool
    timing: TimingStats
    cpu_timing: TimingStats
    measure_cpu: bool
    clock: SampleClock
    def prepare(self, sample_rate: float, max_block: int) -> None: ...
    def process(self, out: np.ndarray, events: Sequence[tuple[int, int, int, int] | MidiMessageLike] | np.ndarray | None = None,
                *, when_busy: str = "raise") -> np.ndarray: ...
    @property
    def stats(self) -> dict[str, float]: ...
    @property
    def busy(self) -> bool: ...
    @property
    def busy_skips(self) -> int: ...

def exclusive(who: int, what: str) -> Any:
    """Decorator: the method holds the processor (one thread at a time) or raises ProcessorBusyError."""

class Gain(Processor):
    """Multiplies its input in place by a constant (for testing hosts)."""
    gain: float
    def __init__(self, gain: float = 1.0) -> None: ...
