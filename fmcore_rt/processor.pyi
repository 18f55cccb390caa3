from typing import Any, Sequence
import numpy as np
from fmcore_rt.timing import TimingStats
from fmcore_rt.clock import SampleClock
from fmcore_rt.messages import MidiMessageLike

class Processor:
    """Base of everything the host runs: prepare() sizes buffers, process() renders blocks without the GIL."""
    sample_rate: float
    max_block: int
    max_channels: int
    prepared: bool
    timing: TimingStats
    clock: SampleClock
    def prepare(self, sample_rate: float, max_block: int) -> None: ...
    def process(self, out: np.ndarray, events: Sequence[tuple[int, int, int, int] | MidiMessageLike] | np.ndarray | None = None) -> np.ndarray: ...
    @property
    def stats(self) -> dict[str, float]: ...

class Gain(Processor):
    """Multiplies its input in place by a constant (for testing hosts)."""
    gain: float
    def __init__(self, gain: float = 1.0) -> None: ...
