"""``Synth``: the FM engine's public class, with the offline ``render`` helper.

The audio work lives in the compiled ``SynthCore`` (``fmcore/_engine.pyx``);
this subclass only adds Python conveniences that never run on the audio
thread.
"""
from __future__ import annotations

import numpy as np

from fmcore._engine import SynthCore
from fmcore_rt.messages import message_rows

# Synth.render's output is one (2, n) float32 array: 2^31 frames (12 h at 48 kHz) is 16 GiB
_MAX_RENDER_FRAMES = 1 << 31


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
        if n > _MAX_RENDER_FRAMES:
            raise ValueError(f"{duration:g} s is too long to render into one array (at most "
                             f"{_MAX_RENDER_FRAMES / self.sample_rate / 3600:.1f} h at {self.sample_rate:g} Hz); "
                             f"fmcore.render_midi_to_file streams a long render to a file")
        out = np.zeros((2, n), np.float32)
        if n == 0:
            return out
        frames = np.rint(ev[:, 0] * self.sample_rate).astype(np.int64)
        keep = frames < n
        ints = np.column_stack([frames[keep], ev[keep, 1:].astype(np.int64)])
        return self.process(out, ints)

    # ---- microtuning and MPE (fmcore.tuning, fmcore.mpe) -------------------------------

    def set_tuning(self, tuning=None, channels=None, at=None, retune_sounding: bool = False) -> bool:
        """Tune the parts ``channels`` (0-15; default all) to ``tuning``: a ``fmcore.tuning.Tuning``,
        128 key pitches in 12-TET semitones (NaN: unmapped key), or None for 12-TET.

        Applied through the event queue at sample ``at`` (or the next block); notes already
        sounding keep their pitch unless ``retune_sounding``. Returns False if the queue was full.
        """
        from fmcore.tuning import Tuning

        if tuning is None:
            tuning = Tuning()
        pitches = np.asarray(tuning.pitches if isinstance(tuning, Tuning) else tuning, dtype=np.float64)
        if pitches.shape != (128,):
            raise ValueError(f"a tuning has 128 key pitches, got shape {pitches.shape}")
        if ((pitches < 0) | (pitches >= 128)).any():
            raise ValueError("key pitches must lie in 0..128 semitones (NaN for an unmapped key)")
        mask = self._channel_mask(channels)
        ok = True
        for key, p in enumerate(pitches):
            ok &= bool(self._push_tuning(mask, key, -1.0 if np.isnan(p) else float(p), retune_sounding, at))
        return ok

    def _channel_mask(self, channels) -> int:
        if channels is None:
            return 0xFFFF
        if isinstance(channels, (int, np.integer)):
            channels = [channels]
        mask = 0
        for ch in channels:
            mask |= 1 << self._check_channel(ch)
        return mask

    def send_sysex(self, data: bytes, at=None) -> int:
        """Apply a SysEx message at sample ``at`` (or the next block). MIDI Tuning Standard
        messages (bulk dump, single-note and scale/octave tuning, real-time or not) retune keys;
        returns the number of key changes queued (0 for a message fmcore does not act on)."""
        from fmcore.tuning import mts_changes

        changes = mts_changes(data) or []
        for mask, key, pitch, realtime in changes:
            self._push_tuning(mask, key, pitch, realtime, at)
        return len(changes)

    def set_mpe(self, lower: int = 15, upper: int = 0, at=None) -> None:
        """Configure MPE zones as an MPE Configuration Message would (RPN 6 on channel 1 and 16):
        ``lower`` member channels above manager channel 1, ``upper`` below manager channel 16
        (0 turns a zone off; 0 and 0 turn MPE off)."""
        from fmcore.mpe import configuration_messages

        for status, d1, d2 in configuration_messages(lower, upper):
            self.send(status, d1, d2, at)
