from fmcore_rt.params import AtomicParams
from fmcore.fx.base import Effect

class Delay(Effect):
    """Stereo/ping-pong delay: time_ms or sync+beats at fx.tempo_bpm, feedback, damping, mix, pingpong."""
    def __init__(self, params: AtomicParams, name: str = "delay") -> None: ...
