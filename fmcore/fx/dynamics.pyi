from fmcore_rt.params import AtomicParams
from fmcore.fx.base import Effect

class Compressor(Effect):
    """Feed-forward compressor: threshold_db, ratio, attack_ms, release_ms, knee_db, makeup_db."""
    def __init__(self, params: AtomicParams, name: str = "compressor") -> None: ...

class Limiter(Effect):
    """Look-ahead limiter (2 ms): ceiling_db, release_ms, gain_db; output never above the ceiling."""
    def __init__(self, params: AtomicParams, name: str = "limiter") -> None: ...
