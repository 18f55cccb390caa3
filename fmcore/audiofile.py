"""Writing audio files through libsndfile (soundfile), streamed and atomic.

The format comes from the file name: .wav, .flac, .aif/.aiff, .w64, .rf64
(PCM or float samples) and .ogg (Vorbis), .opus (Opus), .mp3 (MPEG layer III)
where the installed libsndfile can write them; anything else is refused
before any work, naming what this installation supports.

``AudioWriter`` takes the audio in pieces, so a long render never holds the
whole song in memory. It writes to a temporary file in the destination's
directory (see ``fmcore.atomicfile``) and renames it into place only when the
file is complete; a failure or an interrupt removes it. Writes go through
Python file calls (libsndfile's virtual I/O), so an operating-system error
(a full disk above all) is caught for every format, including the codecs
whose libsndfile writers do not report it, and named with the file.
"""
from __future__ import annotations

import contextlib
import errno
import io
import math
import os
from pathlib import Path

import numpy as np

from fmcore.atomicfile import atomic_path
from fmcore.errors import FmcoreError
from fmcore.interrupts import held

#: command-line ``--bits`` values and the libsndfile subtypes they select
BITS_TO_SUBTYPE = {"16": "PCM_16", "24": "PCM_24", "32": "PCM_32", "32f": "FLOAT"}
#: file suffix -> libsndfile major format
FORMATS = {".wav": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF", ".w64": "W64", ".rf64": "RF64",
           ".ogg": "OGG", ".opus": "OGG", ".mp3": "MP3"}
#: lossy formats: suffix -> the codec (subtype) they always use
CODECS = {".ogg": "VORBIS", ".opus": "OPUS", ".mp3": "MPEG_LAYER_III"}
_NAMES = {".ogg": "Ogg Vorbis", ".opus": "Opus", ".mp3": "MP3"}
_RATES = {".opus": "8000, 12000, 16000, 24000 or 48000 Hz", ".mp3": "at most 48000 Hz"}
_VORBIS_MAX_RATE = 200000
PCM_SUBTYPES = ("PCM_16", "PCM_24", "PCM_32", "FLOAT")
DEFAULT_SUBTYPE = "PCM_24"
# RIFF WAV and AIFF store sizes in 32 bits; W64 and RF64 do not
_SIZE_LIMIT = {"WAV": 2 ** 32 - 1, "AIFF": 2 ** 32 - 1}
_BYTES = {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4}


class AudioFileError(FmcoreError, ValueError):
    """A problem with an output file; the message starts with the file name."""


def writable_suffixes() -> list[str]:
    """The output suffixes this installation's libsndfile can write."""
    import soundfile as sf

    have = sf.available_formats()
    return [s for s, fmt in FORMATS.items()
            if fmt in have and (s not in CODECS or CODECS[s] in sf.available_subtypes(fmt))]


def format_for(path: str | os.PathLike, subtype: str | None = None,
               sample_rate: int | None = None) -> tuple[str, str]:
    """(libsndfile format, subtype) for an output path, or AudioFileError naming the problem.

    ``subtype`` None picks the format's default (24-bit PCM; the codec of a
    lossy format). With ``sample_rate`` the combination is tried in memory, so
    a rate the codec refuses (Opus at 44100 Hz) is reported before rendering.
    """
    import soundfile as sf

    p = Path(path)
    suffix = p.suffix.lower()
    fmt = FORMATS.get(suffix)
    ok = writable_suffixes()
    if fmt is None:
        raise AudioFileError(f"{p}: unsupported output type {p.suffix or '(none)'!r}; use one of {', '.join(ok)}")
    if suffix not in ok:
        raise AudioFileError(f"{p}: the installed libsndfile ({sf.__libsndfile_version__}) cannot write "
                             f"{_NAMES.get(suffix, fmt)} files; use one of {', '.join(ok)}")
    if suffix in CODECS:
        codec = CODECS[suffix]
        if subtype is not None and subtype.upper() != codec:
            raise AudioFileError(f"{p}: {_NAMES[suffix]} is a compressed format without a bit depth "
                                 f"(got {subtype}); leave out --bits")
        subtype = codec
    else:
        subtype = (subtype or DEFAULT_SUBTYPE).upper()
        if not sf.check_format(fmt, subtype):
            can = ", ".join(s for s in PCM_SUBTYPES if sf.check_format(fmt, s))
            raise AudioFileError(f"{p}: {fmt} cannot hold {subtype} samples (choose one of {can})")
    if sample_rate is not None and suffix == ".ogg" and int(sample_rate) > _VORBIS_MAX_RATE:
        # libsndfile accepts it, then libvorbis crashes the process on the first block (found by fuzzing)
        raise AudioFileError(f"{p}: Ogg Vorbis cannot be written at {sample_rate} Hz: it encodes at most "
                             f"{_VORBIS_MAX_RATE} Hz")
    if sample_rate is not None:
        try:
            with sf.SoundFile(io.BytesIO(), "w", int(sample_rate), 2, subtype, format=fmt):
                pass
        except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as e:
            why = (getattr(e, "error_string", "") or "").removeprefix("Error : ").rstrip(".")
            if not any(c.isdigit() for c in why):
                why = f"it takes {_RATES[suffix]}" if suffix in _RATES else why or str(e)
            raise AudioFileError(f"{p}: {_NAMES.get(suffix, fmt)} cannot be written at {sample_rate} Hz: "
                                 f"{why}") from None
    return fmt, subtype


def check_size(path: str | os.PathLike, frames: int, channels: int = 2, subtype: str | None = None) -> None:
    """Refuse a length the format cannot hold (RIFF WAV and AIFF stop at 4 GiB), naming a way out."""
    p = Path(path)
    fmt, subtype = format_for(p, subtype)
    limit = _SIZE_LIMIT.get(fmt)
    if limit is None or subtype not in _BYTES:
        return
    size = frames * channels * _BYTES[subtype] + 4096
    if size > limit:
        raise AudioFileError(f"{p}: {frames} frames of {subtype} need {size / 2 ** 30:.1f} GiB, more than a "
                             f"{fmt} file can hold (4 GiB); write .rf64, .w64 or .flac instead")


def describe_os_error(path, err: OSError) -> str:
    """One line for an operating-system error while writing ``path``."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{path}: the disk is full (no space left on device)"
    if err.errno == errno.EFBIG:
        return f"{path}: the file is too large for this file system"
    return f"{path}: cannot write: {err.strerror or err}"


class _Sink:
    """The file libsndfile writes to (virtual I/O): unbuffered, and the first OS error kept, not raised
    through C (libsndfile's Vorbis and MP3 writers would ignore it)."""

    def __init__(self, path: Path):
        self.f = open(path, "w+b", buffering=0)
        self.error: OSError | None = None

    def _guard(self, fn, default):
        if self.error is not None:
            return default
        try:
            return fn()
        except (OSError, ValueError) as e:
            self.error = e if isinstance(e, OSError) else OSError(errno.EIO, str(e))
            return default

    def write(self, data) -> int:
        def whole():
            view, done = memoryview(data), 0
            while done < len(view):
                done += self.f.write(view[done:])
            return done
        return self._guard(whole, 0)

    def seek(self, offset, whence=0):
        return self._guard(lambda: self.f.seek(offset, whence), -1)

    def tell(self):
        return self._guard(self.f.tell, -1)

    def read(self, n=-1):
        return self._guard(lambda: self.f.read(n), b"")

    def readinto(self, buf):
        return self._guard(lambda: self.f.readinto(buf), 0)

    def sync(self) -> None:
        self._guard(lambda: os.fsync(self.f.fileno()), None)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.f.close()


class AudioWriter:
    """Write (channels, frames) float32 pieces to ``path``; the file appears only when ``close()`` succeeds.

    Use as a context manager: leaving it with an exception (or an interrupt)
    removes the temporary file. ``frames`` counts what was written and
    ``peak`` is the largest absolute sample (before any integer clipping).
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int, subtype: str | None = None, channels: int = 2):
        import soundfile as sf

        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self.format, self.subtype = format_for(self.path, subtype, self.sample_rate)
        self.frames = 0
        self.peak = 0.0
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.is_dir():
            raise AudioFileError(f"{self.path}: directory {parent} does not exist")
        self._atomic = atomic_path(self.path, self.path.suffix)
        tmp = self._atomic.__enter__()
        try:
            self._sink = _Sink(tmp)
            with held():         # libsndfile calls back into _Sink: no stop signal raised in there
                self._sf = sf.SoundFile(self._sink, "w", self.sample_rate, channels, self.subtype,
                                        format=self.format)
        except BaseException as e:
            self._abort(e)
            raise
        self._closed = False

    def _fail(self, err: BaseException | None = None) -> AudioFileError:
        if self._sink.error is not None:
            return AudioFileError(describe_os_error(self.path, self._sink.error))
        return AudioFileError(f"{self.path}: writing failed: {err}")

    def write(self, audio: np.ndarray) -> None:
        """Append ``audio`` shaped (channels, frames)."""
        if audio.ndim != 2 or audio.shape[0] != self.channels:
            raise ValueError(f"audio must be shaped ({self.channels}, frames), got {audio.shape}")
        if audio.shape[1] == 0:
            return
        self.peak = max(self.peak, float(np.max(np.abs(audio))))
        try:
            with held():
                self._sf.write(np.ascontiguousarray(audio.T, dtype=np.float32))
        except Exception as e:   # libsndfile's own error, or soundfile's check of the frames written
            raise self._fail(e) from None
        if self._sink.error is not None:
            raise self._fail()
        self.frames += audio.shape[1]

    def close(self) -> Path:
        """Finish the file (header, codec flush), flush it to disk and rename it into place."""
        if self._closed:
            return self.path
        try:
            with held():
                self._sf.close()
        except Exception as e:
            self._abort(e)
            raise self._fail(e) from None
        self._sink.sync()
        if self._sink.error is not None:
            err = self._fail()
            self._abort(err)
            raise err
        self._sink.close()
        self._closed = True
        self._atomic.__exit__(None, None, None)
        return self.path

    def _abort(self, exc: BaseException) -> None:
        # on the way out already: a stop signal now must not cut the cleanup short
        self._closed = True
        with held(drop=True):
            with contextlib.suppress(Exception):
                if getattr(self, "_sf", None) is not None and not self._sf.closed:
                    self._sf.close()
            if getattr(self, "_sink", None) is not None:
                self._sink.close()
            with contextlib.suppress(Exception):
                self._atomic.__exit__(type(exc), exc, exc.__traceback__)

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        elif not self._closed:
            self._abort(exc)

    @property
    def peak_dbfs(self) -> float:
        return 20 * math.log10(self.peak) if self.peak > 0 else -math.inf


def write_atomic(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, subtype: str | None = None) -> Path:
    """Write ``audio`` (channels, frames) float32 to ``path`` through a temporary file.

    The format comes from the suffix (see ``FORMATS``). Integer subtypes clip
    at full scale; the caller decides about normalisation or limiting before.
    """
    if audio.ndim != 2:
        raise ValueError("audio must be shaped (channels, frames)")
    check_size(path, audio.shape[1], audio.shape[0], subtype)
    with AudioWriter(path, sample_rate, subtype, channels=audio.shape[0]) as w:
        step = 1 << 18
        for a in range(0, audio.shape[1], step):
            w.write(audio[:, a:a + step])
    return Path(path)
