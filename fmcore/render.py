"""Offline rendering: MIDI files through the FM engine to arrays and audio files.

The render loop calls the same ``process`` that live playback calls, block by
block, with the GIL released for the audio work: ``Synth.process`` splits a
long span into ``block``-frame blocks inside compiled code, and this loop
only returns to Python every ``progress_every`` frames to report progress.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from fmcore.audiofile import format_for, write_atomic

DEFAULT_RATE = 48000
DEFAULT_BLOCK = 256
DEFAULT_TAIL = 2.0


@dataclass
class RenderReport:
    """What a render did: lengths, speed, level, and what the engine had to give up."""

    path: str
    sample_rate: int
    audio_seconds: float
    wall_seconds: float
    peak_dbfs: float
    voices_stolen: int = 0
    events_dropped: int = 0
    notes: int = 0
    gain_applied_db: float = 0.0
    limited: bool = False
    warnings: list[str] = field(default_factory=list)
    stems: list[str] = field(default_factory=list)      # stem files written (render --stems)
    stems_gain_db: float = 0.0

    @property
    def realtime_factor(self) -> float:
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else math.inf

    def summary(self) -> str:
        return (f"{self.audio_seconds:.2f} s of audio in {self.wall_seconds:.2f} s "
                f"({self.realtime_factor:.1f}x real time), peak {self.peak_dbfs:.1f} dBFS, "
                f"{self.voices_stolen} voices stolen")


def demo_song_path() -> Path:
    """The built-in demo song (a MIDI file the project wrote), installed with the package."""
    return Path(__file__).resolve().parent / "data" / "demo.mid"


def _peak_dbfs(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def setup_synth(synth, patches=None, strict_sysex: bool = True) -> None:
    """Give ``synth`` its sounds, the same way for offline and live playback.

    ``patches``: None (the built-in bank: General MIDI programs, drum kit on
    channel 10 with its hi-hat choke group; every part sends 40 to the reverb,
    as GM players do), a reference string (see ``fmcore.patchref``), a ``Patch``
    (every melodic channel plays it), a list of ``Patch``es (a bank program
    changes select from; a DX7 bank's 32 voices), a ``fmcore.dx7.Bank``, or a
    mapping channel (0-15) -> ``Patch``.
    """
    from fmcore.patch import Patch
    from fmcore.presets import GM_CHOKE_GROUPS, drum_kit, gm_bank

    if isinstance(patches, (str, os.PathLike)):
        from fmcore.patchref import resolve_patch

        patches = resolve_patch(patches, strict_sysex=strict_sysex)
    try:
        from fmcore.dx7 import Bank as _Dx7Bank
    except ImportError:  # pragma: no cover
        _Dx7Bank = ()
    if _Dx7Bank and isinstance(patches, _Dx7Bank):
        from fmcore.dx7.model import voice_to_patch

        patches = [voice_to_patch(v) for v in patches]
    synth.set_bank(gm_bank())
    synth.set_kit(drum_kit(), channel=9, choke=GM_CHOKE_GROUPS)
    synth.set_default_sends(reverb=40, chorus=0)     # as GM players start every part
    if patches is None:
        return
    if isinstance(patches, Patch):
        for ch in range(16):
            if ch != 9:
                synth.set_patch(patches, ch)
    elif isinstance(patches, Mapping):
        for ch, p in patches.items():
            if ch == 9:
                synth.clear_kit(9)
            synth.set_patch(p, ch)
    else:
        bank = list(patches)
        if not bank or not all(isinstance(p, Patch) for p in bank):
            raise TypeError("patches must be None, a reference, a Patch, a list of Patches or {channel: Patch}")
        synth.set_bank(bank)


def song_events(song, sample_rate: int) -> np.ndarray:
    """The channel messages of a ``MidiSong`` at their samples: structured (sample, status, data1, data2)."""
    ev = song.events(sample_rate)
    return ev[["sample", "status", "data1", "data2"]]


def prepare_song(synth, midi, patches=None, lenient: bool = False, strict_sysex: bool = True, params=None,
                 limit: bool = False, fx=None, tuning=None, mpe=None):
    """Read ``midi`` and set ``synth`` up for it; returns (song, events at ``synth.sample_rate``).

    Offline rendering and live playback both start here, so they sound the same:
    patches (see ``setup_synth``), parameter overrides, the song's tempo for
    tempo-synced effects, the limiter (``limit``: ceiling -1 dBFS), effects and plugins
    (``fx``), tuning and MPE zones (see ``fmcore.extensions``), then every smoothed
    parameter settled.
    """
    from fmcore.midi import read_midi

    song = read_midi(midi, lenient=lenient)
    setup_synth(synth, patches, strict_sysex=strict_sysex)
    if params:
        synth.params.set_many(params)
    if song.tempo_map:
        synth.params["fx.tempo_bpm"] = min(300.0, max(20.0, 60_000_000 / song.tempo_map[0][1]))
    if limit:
        synth.params["fx.limiter.ceiling_db"] = -1.0
        synth.fx.enable("limiter")
    from fmcore.extensions import setup_extensions

    setup_extensions(synth, fx, tuning, mpe)
    synth.settle()
    return song, song_events(song, int(synth.sample_rate))


def _progress_bar(total_frames: int, sample_rate: int, enabled, label: str):
    if callable(enabled):
        return enabled, None
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=round(total_frames / sample_rate, 1), unit="s", unit_scale=False, desc=label,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s audio [{elapsed}<{remaining}]",
               leave=False)

    def update(done, total):
        bar.n = round(done / sample_rate, 1)
        bar.refresh()

    return update, bar


def _render(midi, sample_rate, patches, tail, block, max_voices, lenient, strict_sysex, progress, synth=None,
            params=None, limit=False, fx=None, tuning=None, mpe=None, stems=None):
    from fmcore.midi import midi_source
    from fmcore.synth import Synth

    midi = midi_source(midi)        # a path, bytes, a binary file object or a mido.MidiFile; str() names it
    t0 = time.perf_counter()
    if synth is None:
        synth = Synth(sample_rate, max_voices=max_voices, max_block=block)
    else:
        synth.reset()
    song, ev = prepare_song(synth, midi, patches, lenient, strict_sysex, params, limit, fx, tuning, mpe)
    from fmcore.extensions import SongTuning

    mts, base = SongTuning(song, sample_rate), synth.clock.frames    # MIDI Tuning Standard SysEx
    total = int(round((song.duration_seconds + tail) * sample_rate))
    audio = np.zeros((2, total), np.float32)
    # Python runs once per span (about 1 s of audio); process() splits it into `block`-frame
    # blocks in compiled code without the GIL.
    span = max(block, (sample_rate // block) * block)
    scratch = np.zeros((2, span), np.float32)
    if stems is not None:               # a StemArrays/StemFiles (fmcore.stems) fed span by span
        stems = stems(total) if isinstance(stems, type) else stems
        stem_scratch = np.zeros((18, 2, span), np.float32)
    samples = ev["sample"]
    raw = np.stack([samples, ev["status"], ev["data1"], ev["data2"]], axis=1).astype(np.int64)
    update, bar = _progress_bar(total, sample_rate, progress, Path(str(midi)).name)
    stolen0 = synth.voices_stolen
    try:
        for a in range(0, total, span):
            b = min(total, a + span)
            i0, i1 = np.searchsorted(samples, [a, b])
            chunk = raw[i0:i1].copy()
            chunk[:, 0] -= a
            view = scratch if b - a == span else np.zeros((2, b - a), np.float32)   # last, shorter span
            mts.feed(synth, a, b, base)
            if stems is None:
                synth.process(view, chunk)
            else:
                sv = stem_scratch if b - a == span else np.zeros((18, 2, b - a), np.float32)
                synth.process_stems(view, sv, chunk)
                stems(a, b, sv)
            audio[:, a:b] = view
            if update:
                update(b, total)
    finally:
        if bar is not None:
            bar.close()
    report = RenderReport(path=str(midi), sample_rate=sample_rate, audio_seconds=total / sample_rate,
                          wall_seconds=time.perf_counter() - t0, peak_dbfs=_peak_dbfs(audio),
                          voices_stolen=synth.voices_stolen - stolen0, events_dropped=int(synth.stats["events_dropped"]),
                          notes=int(((ev["status"] & 0xF0) == 0x90).sum()),
                          warnings=[f"{midi}: {w}" for w in song.warnings])
    if mts.dropped:
        report.warnings.append(f"{midi}: {mts.dropped} MIDI Tuning changes dropped (event queue full)")
    return (audio, report) if stems is None else (audio, report, stems)


def _finish(audio: np.ndarray, report: RenderReport, normalize: bool) -> np.ndarray:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if normalize and peak > 0:
        gain = 10 ** (-1.0 / 20) / peak
        audio *= np.float32(gain)
        report.gain_applied_db = 20 * math.log10(gain)
    elif peak > 1.0:
        report.warnings.append(f"{report.path}: peak {20 * math.log10(peak):+.1f} dBFS clips; use --normalize")
    report.peak_dbfs = _peak_dbfs(audio)
    return audio


def render_midi(midi: str | os.PathLike, sample_rate: int = DEFAULT_RATE, patches=None, tail: float = DEFAULT_TAIL,
                block: int = DEFAULT_BLOCK, max_voices: int = 64, normalize: bool = False, lenient: bool = False,
                strict_sysex: bool = True, progress=None, synth=None, params=None, limit: bool = False, fx=None,
                tuning=None, mpe=None, stems: bool = False):
    """Render a MIDI file through the FM engine; returns (2, n) float32.

    ``midi``: a path, the file's bytes, a binary file object or a ``mido.MidiFile``.
    ``patches`` as in ``setup_synth`` (default: the built-in bank). ``tail``
    seconds are rendered after the last event. ``normalize`` scales the peak
    to -1 dBFS; ``limit`` turns on the effects chain's output limiter (ceiling
    -1 dBFS) so a dense file never clips. ``synth`` reuses an engine (reset
    first); ``params`` are parameter overrides (``{"master.gain": 0.8}``). ``fx``: effects and
    LV2 plugins (``["reverb", "lv2:URI,symbol=value"]``); ``tuning``: a ``fmcore.tuning.Tuning``
    (every channel but 10) or {channel: Tuning}; ``mpe``: True or (lower, upper) MPE zones.
    MIDI Tuning Standard SysEx in the file retunes at its exact sample.

    ``stems=True`` returns a dict of (2, n) float32 stems instead: ``"ch01"``..
    ``"ch16"`` for the parts that play, ``"reverb"``/``"chorus"`` for the shared
    effects' returns that sound (see ``fmcore.stems``). They sum to the mix
    before the output effects (``limit``, ``fx`` act on the mix only); ``normalize``
    scales them by the mix's gain.
    """
    from fmcore.stems import StemArrays

    out = _render(midi, sample_rate, patches, tail, block, max_voices, lenient, strict_sysex, progress,
                  synth, params, limit, fx, tuning, mpe, StemArrays if stems else None)
    audio = _finish(out[0], out[1], normalize)
    return out[2].result(10 ** (out[1].gain_applied_db / 20)) if stems else audio


def render_midi_to_file(midi: str | os.PathLike, out: str | os.PathLike, sample_rate: int = DEFAULT_RATE,
                        subtype: str = "PCM_24", patches=None, tail: float = DEFAULT_TAIL, block: int = DEFAULT_BLOCK,
                        max_voices: int = 64, normalize: bool = False, lenient: bool = False,
                        strict_sysex: bool = True, progress=None, limit: bool = False, fx=None, tuning=None,
                        mpe=None, stems: str | os.PathLike | None = None) -> RenderReport:
    """Render a MIDI file to WAV or FLAC (by suffix), written atomically; returns a ``RenderReport``.

    The output format is checked before any work, and nothing is written if
    reading or rendering fails. ``stems``: a directory that gets one file per
    part that plays and per sounding effect return (``ch01.wav``, ...,
    ``reverb.wav``; see ``fmcore.stems``), in the output's format; in an
    integer format they share one gain that keeps them all from clipping.
    """
    format_for(out, subtype)
    sink = None
    if stems is not None:
        from fmcore.stems import StemFiles

        sink = StemFiles(stems, Path(out).suffix, sample_rate, subtype)
    try:
        res = _render(midi, sample_rate, patches, tail, block, max_voices, lenient, strict_sysex, progress,
                      limit=limit, fx=fx, tuning=tuning, mpe=mpe, stems=sink)
        audio = _finish(res[0], res[1], normalize)
        report = res[1]
        write_atomic(out, audio, sample_rate, subtype)
        if sink is not None:
            report.stems = [str(p) for p in sink.finish(10 ** (report.gain_applied_db / 20))]
            report.stems_gain_db = sink.gain_db
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    return report
