"""``Synth``: the FM engine's public class, with the offline ``render`` helper.

The audio work lives in the compiled ``SynthCore`` (``fmcore/_engine.pyx``);
this subclass only adds Python conveniences that never run on the audio
thread.
"""
from __future__ import annotations

import numpy as np

from fmcore._engine import SynthCore
from fmcore_rt.messages import message_rows


class Synth(SynthCore):
    """A multi-timbral FM synthesizer: 16 parts (one per MIDI channel) sharing one voice pool.

    ``Synth(sample_rate=48000, max_voices=16, max_block=1024)``; see ``SynthCore``
    for the real-time API (``process``, ``note_on``, ``set_patch``, ``params``, ...).
    """

    def render(self, events=(), duration: float = 0.0, tail: float | None = None) -> np.ndarray:
        """Render offline; ``events`` are ``(time_seconds, status, data1, data2)`` or MIDI message
        objects such as ``mido.Message`` whose ``time`` is in seconds. Returns (2, n) float32.

        ``duration`` in seconds; 0 means up to the last event plus ``tail``
        (default 1 s). Runs the same ``process`` as live playback, in blocks of
        ``max_block`` frames, without the GIL.
        """
        ev = np.asarray(events if isinstance(events, np.ndarray) else message_rows(events, frames=False),
                        dtype=np.float64)
        if ev.size == 0:
            ev = ev.reshape(0, 4)
        if ev.ndim != 2 or ev.shape[1] != 4:
            raise TypeError("events must be a sequence of (time_seconds, status, data1, data2)")
        if not np.isfinite(ev).all() or (ev[:, 0] < 0).any():
            raise ValueError("event times must be finite and >= 0 seconds")
        duration = float(duration)
        if not (np.isfinite(duration) and duration >= 0):
            raise ValueError(f"duration must be >= 0 seconds, got {duration}")
        if duration == 0.0:
            last = float(ev[:, 0].max()) if len(ev) else 0.0
            duration = last + (1.0 if tail is None else float(tail))
        n = int(round(duration * self.sample_rate))
        out = np.zeros((2, n), np.float32)
        if n == 0:
            return out
        frames = np.rint(ev[:, 0] * self.sample_rate).astype(np.int64)
        keep = frames < n
        ints = np.column_stack([frames[keep], ev[keep, 1:].astype(np.int64)])
        return self.process(out, ints)
