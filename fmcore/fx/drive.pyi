from fmcore_rt.params import AtomicParams
from fmcore.fx.base import Effect

class Drive(Effect):
    """tanh saturation, 2x oversampled with antiderivative anti-aliasing: drive_db, output_db, mix.

    Adds ``latency`` = 31 frames (the half-band filters)."""
    def __init__(self, params: AtomicParams, name: str = "drive") -> None: ...
