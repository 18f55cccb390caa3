from typing import Mapping

from fmcore_rt.params import AtomicParams
from fmcore.fx.base import Effect

class Chorus(Effect):
    """Stereo chorus: rate_hz, depth_ms, delay_ms, feedback, mix."""
    def __init__(self, params: AtomicParams, name: str = "chorus",
                 defaults: Mapping[str, float] | None = None) -> None: ...
