from fmcore_rt.params import AtomicParams
from fmcore.fx.base import Effect

FILTER_MODES: tuple[str, str, str]

class SvfFilter(Effect):
    """State-variable filter (TPT): mode 0 LP / 1 HP / 2 BP, cutoff_hz, resonance 0..1."""
    def __init__(self, params: AtomicParams, name: str = "filter") -> None: ...

class Equalizer(Effect):
    """3-band EQ: RBJ low shelf, peak, high shelf."""
    def __init__(self, params: AtomicParams, name: str = "eq") -> None: ...
