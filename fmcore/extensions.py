"""Microtuning, MPE and plugins set up for a song, the same way offline and live."""
from __future__ import annotations

from typing import Mapping

import numpy as np


DRUM_CHANNEL = 9


def setup_extensions(synth, fx=None, tuning=None, mpe=None) -> None:
    """``fx``: ``--fx`` specs (see ``fmcore.fx.plugins``); ``tuning``: a ``Tuning`` for every channel
    but the GM drum channel 10, or {channel 0-15: Tuning}; ``mpe``: (lower, upper) member channel
    counts or True for a lower zone of 15. Queued for the first block, before the song's events."""
    if fx:
        from fmcore.fx.plugins import apply_fx

        apply_fx(synth, fx)
        synth.fx.rack.reset()                # audio stopped: plugins in place from the first sample, no fade-in
    if tuning is not None:
        if isinstance(tuning, Mapping):
            for ch, t in tuning.items():
                synth.set_tuning(t, channels=[ch])
        else:
            synth.set_tuning(tuning, channels=[c for c in range(16) if c != DRUM_CHANNEL])
    if mpe:
        lower, upper = (15, 0) if mpe is True else mpe
        synth.set_mpe(lower, upper)


class SongTuning:
    """The MIDI Tuning Standard messages of a song's SysEx events, at their samples."""

    def __init__(self, song, sample_rate: int):
        from fmcore.tuning import TuningError, mts_changes

        rows = []
        self.warnings = []                   # malformed messages, skipped: one bad SysEx in a song
        for tick, track, raw in getattr(song, "sysex", []):     # should not cost the whole render
            try:
                changes = mts_changes(raw, where=f"track {track} at tick {tick}")
            except TuningError as err:
                self.warnings.append(f"{err}; ignored")
                continue
            for mask, key, pitch, realtime in changes or ():
                rows.append((song.sample_at(tick, sample_rate), mask, key, pitch, realtime))
        self.rows = rows                     # song.sysex is in time order, so these are too
        self.samples = np.array([r[0] for r in rows], dtype=np.int64)
        self.dropped = 0

    def __len__(self):
        return len(self.rows)

    def feed(self, synth, a: int, b: int, base: int) -> None:
        """Queue the changes at samples [a, b) of the song for absolute frames ``base + sample``."""
        i0, i1 = np.searchsorted(self.samples, [a, b])
        for sample, mask, key, pitch, realtime in self.rows[i0:i1]:
            if not synth._push_tuning(mask, key, pitch, realtime, base + sample):
                self.dropped += 1
