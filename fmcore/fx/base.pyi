from typing import Mapping

from fmcore_rt.params import AtomicParams

class Effect:
    """One effect of the chain: registers ``fx.<name>.<param>`` slots, processes stereo in place."""
    name: str
    sample_rate: float
    max_block: int
    latency: int
    wet_only: bool
    def __init__(self, params: AtomicParams, name: str, defaults: Mapping[str, float] | None = None) -> None: ...
    @property
    def param_names(self) -> list[str]: ...
    def prepare(self, sample_rate: float, max_block: int) -> None: ...
    def reset(self) -> None: ...
