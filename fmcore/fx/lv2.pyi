from typing import Any

from fmcore.fx.base import Effect
from fmcore.fx.plugins import Lv2Error as Lv2Error
from fmcore_rt.params import AtomicParams
from fmcore_rt.processor import Processor

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
    instrument: bool
    uses_worker: bool
    def __init__(self, params: AtomicParams, name: str, uri: str, sample_rate: float = 48000.0,
                 instrument: bool = False) -> None: ...
    @property
    def ports(self) -> list[dict[str, Any]]: ...
    @property
    def reported_latency(self) -> int: ...

class Lv2Instrument(Processor):
    """An LV2 instrument (MIDI in, audio out) hosted as a processor; events at their exact frames."""
    params: AtomicParams
    core: Lv2Effect
    def __init__(self, uri: str, sample_rate: float = 48000.0, max_block: int = 1024,
                 name: str | None = None) -> None: ...
    def send(self, status: int, data1: int = 0, data2: int = 0, at: int | None = None) -> bool: ...
    def note_on(self, note: int, velocity: int = 100, channel: int = 0, at: int | None = None) -> bool: ...
    def note_off(self, note: int, channel: int = 0, at: int | None = None) -> bool: ...
    def reset(self) -> None: ...
