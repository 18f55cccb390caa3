"""Per-part stems of a render: one stereo signal per part that plays, plus the effect returns.

A stem is what a part puts into the mix: its voices after volume, expression
and pan, times the master gain. The shared reverb and chorus are fed by every
part's sends, so their returns are stems of their own (``reverb``,
``chorus``); the stems sum to the mix before the output effects
(``Synth.fx``: filter ... limiter), exactly when those are off (float32
rounding aside). Names: ``ch01``..``ch16`` (MIDI channels as musicians count
them), ``reverb``, ``chorus``; a stem that never sounds is left out.

``StemArrays`` collects them in memory (``render_midi(..., stems=True)``),
``StemFiles`` streams them to a directory (``fmcore render --stems DIR``).
"""
from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import numpy as np

N_PARTS = 16
N_STEMS = N_PARTS + 2
STEM_NAMES = tuple(f"ch{c + 1:02d}" for c in range(N_PARTS)) + ("reverb", "chorus")


class StemArrays:
    """A render's stems as (2, frames) float32 arrays, allocated when a stem first sounds."""

    def __init__(self, total: int):
        self.total = total
        self.arrays: dict[int, np.ndarray] = {}

    def __call__(self, a: int, b: int, block: np.ndarray) -> None:
        for k in range(N_STEMS):
            arr = self.arrays.get(k)
            if arr is None:
                if not block[k].any():
                    continue
                arr = self.arrays[k] = np.zeros((2, self.total), np.float32)
            arr[:, a:b] = block[k]

    def result(self, gain: float = 1.0) -> dict[str, np.ndarray]:
        out = {}
        for k in sorted(self.arrays):
            arr = self.arrays[k]
            if gain != 1.0:
                arr *= np.float32(gain)
            out[STEM_NAMES[k]] = arr
        return out


def check_stem_dir(directory: str | os.PathLike) -> Path:
    """``directory`` as a Path if stems can be written there (it may not exist yet), else an AudioFileError."""
    from fmcore.audiofile import AudioFileError

    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise AudioFileError(f"{d}: exists and is not a directory (stems go into a directory)")
    p = d
    while not p.exists():
        p = p.parent
    if not p.is_dir():
        raise AudioFileError(f"{d}: cannot make the stems directory: {p} is not a directory")
    if not os.access(p, os.W_OK | os.X_OK):
        raise AudioFileError(f"{d}: cannot write the stems directory: permission denied on {p}")
    return d


class StemFiles:
    """Streams stems to ``directory`` as ``<name><suffix>`` files; nothing appears there unless the
    render succeeds (stems go to hidden float32 scratch files first, written out at the end)."""

    def __init__(self, directory: str | os.PathLike, suffix: str, sample_rate: int, subtype: str):
        from fmcore.audiofile import format_for

        self.dir = check_stem_dir(directory)
        self.suffix = suffix
        self.sample_rate = int(sample_rate)
        self.format, self.subtype = format_for(Path("stem" + suffix), subtype)
        self.files: dict[int, object] = {}     # stem -> open soundfile.SoundFile (temporary)
        self.tmp: dict[int, Path] = {}
        self.peaks = np.zeros(N_STEMS)
        self._made_dir = False
        self._scratch = contextlib.ExitStack()      # the temporary files, named as fmcore.atomicfile names them
        self.gain_db = 0.0
        self.written: list[Path] = []

    def __call__(self, a: int, b: int, block: np.ndarray) -> None:
        import soundfile as sf

        from fmcore.atomicfile import scratch_path

        for k in range(N_STEMS):
            f = self.files.get(k)
            if f is None:
                if not block[k].any():
                    continue
                if not self.dir.exists():
                    self.dir.mkdir(parents=True)
                    self._made_dir = True
                path = self._scratch.enter_context(scratch_path(self.dir / (STEM_NAMES[k] + self.suffix), ".wav"))
                f = self.files[k] = sf.SoundFile(path, "w", self.sample_rate, 2, subtype="FLOAT", format="WAV")
                self.tmp[k] = path
                silence = np.zeros((1 << 16, 2), np.float32)
                for start in range(0, a, len(silence)):   # the silence before the stem's first sound
                    f.write(silence[:min(len(silence), a - start)])
            f.write(np.ascontiguousarray(block[k].T))
            self.peaks[k] = max(self.peaks[k], float(np.abs(block[k]).max()))

    def finish(self, gain: float = 1.0) -> list[Path]:
        """Close, scale by ``gain`` (the mix's normalisation), keep integer formats from clipping
        (one gain for all stems, so they still add up), and move the files to their names."""
        import soundfile as sf

        from fmcore.audiofile import AudioWriter

        for f in self.files.values():
            f.close()
        peak = float(self.peaks.max()) * gain if self.files else 0.0
        if not self.subtype.startswith(("FLOAT", "DOUBLE")) and peak > 1.0:
            gain *= 10 ** (-1 / 20) / peak
        self.gain_db = 20 * math.log10(gain) if gain > 0 else -math.inf
        for k in sorted(self.tmp):
            dest = self.dir / (STEM_NAMES[k] + self.suffix)
            with sf.SoundFile(self.tmp[k]) as src, AudioWriter(dest, self.sample_rate, self.subtype) as dst:
                for chunk in src.blocks(1 << 16, dtype="float32"):
                    dst.write((chunk * np.float32(gain)).T if gain != 1.0 else chunk.T)
            self.written.append(dest)
        self.tmp.clear()
        self._scratch.close()
        return self.written

    def abort(self) -> None:
        """Remove every temporary file (and the directory if this render made it)."""
        for f in self.files.values():
            with contextlib.suppress(Exception):
                f.close()
        self._scratch.close()
        if self._made_dir:
            with contextlib.suppress(OSError):
                self.dir.rmdir()
