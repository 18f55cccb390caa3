"""Writing audio files: WAV/FLAC through libsndfile (soundfile), atomically.

A render is written to a temporary file in the destination's directory and
renamed into place only when complete, so an interrupted or failed render
never leaves a partial file under the requested name.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fmcore.atomicfile import atomic_path

#: command-line ``--bits`` values and the libsndfile subtypes they select
BITS_TO_SUBTYPE = {"16": "PCM_16", "24": "PCM_24", "32": "PCM_32", "32f": "FLOAT"}
FORMATS = {".wav": "WAV", ".flac": "FLAC"}


class AudioFileError(ValueError):
    """A problem with an output file; the message starts with the file name."""


def format_for(path: str | os.PathLike, subtype: str) -> tuple[str, str]:
    """(libsndfile format, subtype) for an output path, or AudioFileError naming the problem."""
    import soundfile as sf

    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise AudioFileError(f"{p}: unsupported output type {p.suffix or '(none)'!r}; use .wav or .flac")
    subtype = subtype.upper()
    if not sf.check_format(fmt, subtype):
        ok = ", ".join(s for s in ("PCM_16", "PCM_24", "PCM_32", "FLOAT") if sf.check_format(fmt, s))
        raise AudioFileError(f"{p}: {fmt} cannot hold {subtype} samples (choose one of {ok})")
    return fmt, subtype


def write_atomic(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, subtype: str = "PCM_24") -> Path:
    """Write ``audio`` (channels, frames) float32 to ``path`` through a temporary file.

    The format comes from the suffix (.wav or .flac). Integer subtypes clip at
    full scale; the caller decides about normalisation or limiting before.
    """
    import soundfile as sf

    dest = Path(path)
    fmt, subtype = format_for(dest, subtype)
    if audio.ndim != 2:
        raise ValueError("audio must be shaped (channels, frames)")
    if not (dest.parent if str(dest.parent) else Path(".")).is_dir():
        raise AudioFileError(f"{dest}: directory {dest.parent} does not exist")
    with atomic_path(dest, dest.suffix) as tmp:
        sf.write(tmp, np.ascontiguousarray(audio.T), int(sample_rate), subtype=subtype, format=fmt)
    return dest
