from typing import Mapping

from fmcore_rt.params import AtomicParams
from fmcore.fx.base import Effect

class Reverb(Effect):
    """8-line FDN reverb: decay (RT60 s), size, damping, predelay_ms, mix, width."""
    def __init__(self, params: AtomicParams, name: str = "reverb",
                 defaults: Mapping[str, float] | None = None) -> None: ...
