from typing import Any

from fmcore.fx.base import Effect
from fmcore.fx.plugins import Lv2Error as Lv2Error
from fmcore_rt.params import AtomicParams

LV2_CORE: str
SUPPORTED_FEATURES: frozenset[str]

def list_plugins() -> list[dict[str, Any]]:
    """Every LV2 plugin lilv finds: uri, name, cls, audio_in, audio_out, hostable, why_not."""
def default_name(uri: str) -> str: ...

class Lv2Effect(Effect):
    """An LV2 plugin as an effect of the chain; control inputs are ``fx.<name>.<symbol>``."""
    uri: str
    plugin_name: str
    audio_inputs: int
    audio_outputs: int
    def __init__(self, params: AtomicParams, name: str, uri: str, sample_rate: float = 48000.0) -> None: ...
    @property
    def ports(self) -> list[dict[str, Any]]: ...
    @property
    def reported_latency(self) -> int: ...
