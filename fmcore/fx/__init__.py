"""fmcore.fx: the real-time effects chain (filter, drive, EQ, chorus, delay, reverb,
compressor, limiter) with an atomic enabled mask and click-free toggling.

``FxChain`` is what the synth engine runs after its voices; ``EffectsProcessor``
is the same chain as a stand-alone processor for any host.
"""
from fmcore.fx.chain import CROSSFADE_SECONDS, DEFAULT_ORDER, EFFECTS, EffectsProcessor, FxChain

__all__ = ["FxChain", "EffectsProcessor", "DEFAULT_ORDER", "EFFECTS", "CROSSFADE_SECONDS"]
