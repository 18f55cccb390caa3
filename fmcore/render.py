"""Offline rendering: MIDI files through the FM engine to arrays and audio files.

The render loop calls the same ``process`` that live playback calls, with the
GIL released for the audio work: ``Synth.process`` splits a span of about a
second into ``block``-frame blocks inside compiled code, and Python runs once
per span to hand it on. Files are written span by span as they are rendered
(``fmcore.audiofile.AudioWriter``), so memory stays flat in song length; the
array API (``render_midi``) fills one array, bounded by ``max_duration``.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from fmcore.errors import FmcoreError

DEFAULT_RATE = 48000
DEFAULT_BLOCK = 256
DEFAULT_TAIL = 2.0
#: renders longer than this (seconds) are refused unless asked for: a damaged file's huge delta time
DEFAULT_MAX_DURATION = 3 * 3600.0
RATE_RANGE = (8000, 384000)
MAX_BLOCK = 8192
MAX_VOICES = 256


class RenderError(FmcoreError, ValueError):
    """A render that will not be started (too long, arguments out of range); the message names the file."""


class RenderCancelled(Exception):
    """A render stopped between spans because its ``cancel`` event was set."""


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def check_render_args(sample_rate, block, max_voices, tail, max_duration=DEFAULT_MAX_DURATION) -> None:
    """Refuse arguments no render can use, with the range that works (``RenderError``)."""
    def whole(name, v, lo, hi):
        ok = isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer())
        if isinstance(v, bool) or not ok or not lo <= v <= hi:
            raise RenderError(f"{name} must be a whole number in {lo}..{hi}, got {v!r}")

    whole("sample_rate", sample_rate, *RATE_RANGE)
    whole("block", block, 1, MAX_BLOCK)
    whole("max_voices", max_voices, 1, MAX_VOICES)
    for name, v in (("tail", tail), ("max_duration", max_duration)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
            raise RenderError(f"{name} must be a finite number of seconds >= 0, got {v!r}")


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


def setup_synth(synth, patches=None, strict_sysex: bool = True, warnings: list | None = None) -> None:
    """Give ``synth`` its sounds, the same way for offline and live playback.

    ``patches``: None (the built-in bank: General MIDI programs, drum kit on
    channel 10 with its hi-hat choke group; every part sends 40 to the reverb,
    as GM players do), a reference string (see ``fmcore.patchref``), a ``Patch``
    (every melodic channel plays it), a list of ``Patch``es (a bank program
    changes select from; a DX7 bank's 32 voices), a ``fmcore.dx7.Bank``, or a
    mapping channel (0-15) -> ``Patch``. ``warnings`` (a list) receives what
    loading a SysEx bank noticed (clamped values, a stale checksum accepted).
    """
    from fmcore.patch import Patch
    from fmcore.presets import GM_CHOKE_GROUPS, drum_kit, gm_bank

    if isinstance(patches, (str, os.PathLike)):
        from fmcore.patchref import resolve_patch

        patches = resolve_patch(patches, strict_sysex=strict_sysex, warnings=warnings)
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
                 limit: bool | None = None, warnings: list | None = None, fx=None, tuning=None, mpe=None):
    """Read ``midi`` and set ``synth`` up for it; returns (song, events at ``synth.sample_rate``).

    Offline rendering and live playback both start here, so they sound the same:
    patches (see ``setup_synth``; ``warnings`` receives what loading them
    noticed), parameter overrides, the song's tempo for tempo-synced effects,
    the limiter (``limit`` True: on with its ceiling at -1 dBFS, False: off,
    None: as it is), effects and plugins (``fx``), tuning and MPE zones (see
    ``fmcore.extensions``), then every smoothed parameter settled.
    """
    from fmcore.midi import read_midi

    song = read_midi(midi, lenient=lenient)
    setup_synth(synth, patches, strict_sysex=strict_sysex, warnings=warnings)
    if params:
        synth.params.set_many(params)
    if song.tempo_map:
        synth.params["fx.tempo_bpm"] = min(300.0, max(20.0, 60_000_000 / song.tempo_map[0][1]))
    if limit:
        synth.params["fx.limiter.ceiling_db"] = -1.0
        synth.fx.enable("limiter")
    elif limit is not None:
        synth.fx.disable("limiter")
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


class _Prepared:
    """A song read and an engine set up for it: what the span loop needs."""

    def __init__(self, midi, synth, song, raw, total, latency, notes, warnings, t0):
        from fmcore.extensions import SongTuning

        self.midi, self.synth, self.song, self.raw = midi, synth, song, raw
        self.total, self.latency, self.notes, self.warnings, self.t0 = total, latency, notes, warnings, t0
        self.stolen0 = synth.voices_stolen
        # the song's MIDI Tuning Standard SysEx, fed to the engine span by span at their samples
        self.mts, self.base = SongTuning(song, int(synth.sample_rate)), synth.clock.frames
        self.warnings = list(warnings) + [f"{midi}: {w}" for w in self.mts.warnings]

    def report(self, peak: float, label: str) -> RenderReport:
        synth = self.synth
        sr = int(synth.sample_rate)
        return RenderReport(path=label, sample_rate=sr, audio_seconds=self.total / sr,
                            wall_seconds=time.perf_counter() - self.t0,
                            peak_dbfs=20 * math.log10(peak) if peak > 0 else -math.inf,
                            voices_stolen=synth.voices_stolen - self.stolen0,
                            events_dropped=int(synth.stats["events_dropped"]), notes=self.notes,
                            warnings=list(self.warnings) + ([f"{self.midi}: {self.mts.dropped} MIDI Tuning changes "
                                                             "dropped (event queue full)"] if self.mts.dropped else []))


def _prepare(midi, sample_rate, patches, tail, block, max_voices, lenient, strict_sysex, synth, params, limit,
             max_duration, fx=None, tuning=None, mpe=None) -> _Prepared:
    from fmcore.midi import midi_source
    from fmcore.synth import Synth

    midi = midi_source(midi)        # a path, bytes, a binary file object or a mido.MidiFile; str() names it
    t0 = time.perf_counter()
    check_render_args(sample_rate, block, max_voices, tail, max_duration)
    if synth is None:
        synth = Synth(sample_rate, max_voices=max_voices, max_block=block)
    else:
        synth.reset()
    patch_warnings: list[str] = []
    song, ev = prepare_song(synth, midi, patches, lenient, strict_sysex, params, limit, warnings=patch_warnings,
                            fx=fx, tuning=tuning, mpe=mpe)
    sr = int(synth.sample_rate)
    seconds = song.duration_seconds + tail
    if seconds > max_duration:
        why = (f"the song lasts {_duration(song.duration_seconds)}: a damaged file (a huge delta time)?"
               if song.duration_seconds > max_duration else
               f"the song {_duration(song.duration_seconds)} + a tail of {tail:g} s")
        raise RenderError(f"the render would last {_duration(seconds)}, more than the limit of "
                          f"{_duration(max_duration)} ({why}); raise --max-duration if that is what you want",
                          path=str(midi))
    synth.fx.reset()              # effects switched on for this render start in place, not faded in
    raw = np.stack([ev["sample"], ev["status"], ev["data1"], ev["data2"]], axis=1).astype(np.int64)
    notes = int(((ev["status"] & 0xF0) == 0x90).sum())
    warnings = patch_warnings + [f"{midi}: {w}" for w in song.warnings]
    if not (((raw[:, 1] & 0xF0) == 0x90) & (raw[:, 3] > 0)).any():
        warnings.append(f"{midi}: no notes in the song: the output is silent")
    return _Prepared(midi, synth, song, raw, int(round(seconds * sr)), int(synth.fx.latency), notes, warnings, t0)


def _spans(prep: _Prepared, block: int, progress, cancel=None, stems=None):
    """The render, span by span: (2, n) float32 arrays, valid until the next one is asked for.

    Python runs once per span (about 1 s of audio); ``process()`` splits it into
    ``block``-frame blocks in compiled code without the GIL. The effects'
    latency (the limiter's look-ahead) is rendered past the end and cut from
    the start, so every event still lands on its sample. ``stems``: a
    ``fmcore.stems`` sink called with each span's stems (frames [a, b) of the
    song; stems are taken before the output effects, so they have no latency).
    """
    synth, raw, total, lat = prep.synth, prep.raw, prep.total, prep.latency
    sr = int(synth.sample_rate)
    n = total + lat
    span = max(block, (sr // block) * block)
    scratch = np.zeros((2, span), np.float32)
    if stems is not None:
        stem_scratch = np.zeros((18, 2, span), np.float32)
    samples = raw[:, 0]
    update, bar = _progress_bar(total, sr, progress, Path(str(prep.midi)).name)
    try:
        for a in range(0, n, span):
            if cancel is not None and (cancel() if callable(cancel) else cancel.is_set()):
                raise RenderCancelled(f"{prep.midi}: render cancelled")
            b = min(n, a + span)
            i0, i1 = np.searchsorted(samples, [a, b])
            chunk = raw[i0:i1].copy()
            chunk[:, 0] -= a
            view = scratch if b - a == span else np.zeros((2, b - a), np.float32)   # last, shorter span
            prep.mts.feed(synth, a, b, prep.base)
            if stems is None:
                synth.process(view, chunk)
            else:
                sv = stem_scratch if b - a == span else np.zeros((18, 2, b - a), np.float32)
                synth.process_stems(view, sv, chunk)
                if a < total:
                    stems(a, min(b, total), sv[:, :, :min(b, total) - a])
            skip = min(max(0, lat - a), b - a)
            if skip < b - a:
                yield view[:, skip:]
            if update:
                update(max(0, b - lat), total)
    finally:
        if bar is not None:
            bar.close()


def write_render(prep: _Prepared, out, subtype: str | None, block: int, normalize: bool = False, progress=None,
                 cancel=None, stems=None) -> tuple[float, float]:
    """Stream a prepared render into ``out`` (atomically); returns (peak, normalisation gain in dB)."""
    from fmcore.atomicfile import scratch_path
    from fmcore.audiofile import AudioFileError, AudioWriter, check_size, describe_os_error

    check_size(out, prep.total, 2, subtype)
    sr = int(prep.synth.sample_rate)
    if not normalize:
        with AudioWriter(out, sr, subtype) as w:
            for piece in _spans(prep, block, progress, cancel, stems):
                w.write(piece)
        return w.peak, 0.0
    # the peak is known only at the end: render into a float scratch file, then scale it into `out`
    with scratch_path(out, ".f32") as raw_path:
        peak = 0.0
        try:
            with open(raw_path, "wb") as f:
                for piece in _spans(prep, block, progress, cancel, stems):
                    peak = max(peak, float(np.max(np.abs(piece))))
                    f.write(np.ascontiguousarray(piece.T))
        except OSError as e:
            raise AudioFileError(describe_os_error(out, e)) from None
        gain = np.float32(10 ** (-1.0 / 20) / peak if peak > 0 else 1.0)
        with AudioWriter(out, sr, subtype) as w, open(raw_path, "rb") as f:
            while True:
                data = np.fromfile(f, np.float32, 2 * 65536)
                if data.size == 0:
                    break
                w.write((data.reshape(-1, 2) * gain).T)
    return w.peak, 20 * math.log10(float(gain))


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
                strict_sysex: bool = True, progress=None, synth=None, params=None, limit: bool | None = None,
                max_duration: float = DEFAULT_MAX_DURATION, fx=None, tuning=None, mpe=None, stems: bool = False):
    """Render a MIDI file through the FM engine; returns (2, n) float32.

    ``midi``: a path, the file's bytes, a binary file object or a ``mido.MidiFile``.
    ``patches`` as in ``setup_synth`` (default: the built-in bank). ``tail``
    seconds are rendered after the last event. ``normalize`` scales the peak
    to -1 dBFS; ``limit=True`` turns on the effects chain's output limiter
    (ceiling -1 dBFS) so a dense file never clips, ``False`` turns it off,
    ``None`` leaves the engine as it is (a new one: off). ``synth`` reuses an
    engine (reset first); ``params`` are parameter overrides
    (``{"master.gain": 0.8}``). A render longer than ``max_duration``
    seconds is refused (``RenderError``) before anything is allocated. ``fx``: effects and LV2
    plugins (``["reverb", "lv2:URI,symbol=value"]``); ``tuning``: a ``fmcore.tuning.Tuning``
    (every channel but 10) or {channel: Tuning}; ``mpe``: True or (lower, upper) MPE zones.
    MIDI Tuning Standard SysEx in the file retunes at its exact sample.

    ``stems=True`` returns a dict of (2, n) float32 stems instead: ``"ch01"``..
    ``"ch16"`` for the parts that play, ``"reverb"``/``"chorus"`` for the shared
    effects' returns that sound (see ``fmcore.stems``). They sum to the mix
    before the output effects (``limit``, ``fx`` act on the mix only); ``normalize``
    scales them by the mix's gain.
    """
    from fmcore.stems import StemArrays

    prep = _prepare(midi, sample_rate, patches, tail, block, max_voices, lenient, strict_sysex, synth, params,
                    limit, max_duration, fx, tuning, mpe)
    sink = StemArrays(prep.total) if stems else None
    audio = np.empty((2, prep.total), np.float32)
    pos = 0
    for piece in _spans(prep, block, progress, stems=sink):
        audio[:, pos:pos + piece.shape[1]] = piece
        pos += piece.shape[1]
    report = prep.report(0.0, str(prep.midi))
    audio = _finish(audio, report, normalize)
    return sink.result(10 ** (report.gain_applied_db / 20)) if stems else audio


def render_midi_to_file(midi: str | os.PathLike, out: str | os.PathLike, sample_rate: int = DEFAULT_RATE,
                        subtype: str | None = None, patches=None, tail: float = DEFAULT_TAIL,
                        block: int = DEFAULT_BLOCK, max_voices: int = 64, normalize: bool = False,
                        lenient: bool = False, strict_sysex: bool = True, progress=None, limit: bool = True,
                        max_duration: float = DEFAULT_MAX_DURATION, synth=None, params=None,
                        cancel=None, fx=None, tuning=None, mpe=None,
                        stems: str | os.PathLike | None = None) -> RenderReport:
    """Render a MIDI file to an audio file (format by suffix, see ``fmcore.audiofile``); returns a ``RenderReport``.

    The audio streams to the file span by span, so memory stays flat however
    long the song; the file is written under a temporary name and renamed
    when complete, so nothing is left under ``out`` if reading, rendering or
    writing fails. The output limiter is on by default (``limit``: peaks
    never above -1 dBFS, the file never clips). ``normalize`` scales the peak
    to -1 dBFS: the render goes to a float scratch file first, then through
    the gain into ``out``. ``cancel`` (a ``threading.Event`` or a callable)
    stops the render between spans with ``RenderCancelled``. ``fx``, ``tuning``, ``mpe``: as in
    ``render_midi``. ``stems``: a directory that gets one file per part that plays and per
    sounding effect return (``ch01.wav``, ..., ``reverb.wav``; see ``fmcore.stems``), in the
    output's format, taken before the limiter; in an integer or lossy format they share one
    gain that keeps them all from clipping.
    """
    from fmcore.audiofile import format_for

    check_render_args(sample_rate, block, max_voices, tail, max_duration)
    _, subtype = format_for(out, subtype, sample_rate)      # a bad output is refused before any work
    sink = None
    if stems is not None:
        from fmcore.stems import StemFiles

        sink = StemFiles(stems, Path(out).suffix, sample_rate, subtype)
    try:
        prep = _prepare(midi, sample_rate, patches, tail, block, max_voices, lenient, strict_sysex, synth, params,
                        limit, max_duration, fx, tuning, mpe)
        peak, gain_db = write_render(prep, out, subtype, block, normalize, progress, cancel, sink)
        if sink is not None:
            stem_paths = [str(p) for p in sink.finish(10 ** (gain_db / 20))]
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    report = prep.report(peak, str(prep.midi))
    if sink is not None:
        report.stems, report.stems_gain_db = stem_paths, sink.gain_db
    report.gain_applied_db = gain_db
    report.limited = "limiter" in prep.synth.fx.enabled
    if peak > 1.0:
        report.warnings.append(f"{out}: peak {20 * math.log10(peak):+.1f} dBFS is above full scale"
                               + ("" if subtype == "FLOAT" else " and clips") + "; leave the limiter on or use "
                               "--normalize")
    return report
