"""What the MIDI-reading API accepts, normalised: a path, bytes, a binary file object or a ``mido.MidiFile``."""
from __future__ import annotations

import io
import os

__all__ = ["MidiData", "midi_source"]


class MidiData:
    """The bytes of a MIDI file that came without a path, with the name errors and reports use.

    ``str()`` is the name (``"<bytes>"``, a file object's ``name``, a ``mido.MidiFile``'s
    ``filename``), so a message reads ``"<name>: <problem>"`` as it does for a path.
    """

    __slots__ = ("data", "name")

    def __init__(self, data: bytes, name: str):
        self.data = bytes(data)
        self.name = name

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"MidiData({self.name!r}, {len(self.data)} bytes)"


def midi_source(midi) -> str | os.PathLike | MidiData:
    """``midi`` as ``read_midi`` takes it: a path stays a path, and bytes (or a bytearray or
    memoryview), a binary file object (read to its end) or a ``mido.MidiFile`` (duck-typed:
    saved to bytes by mido) become :class:`MidiData`."""
    if isinstance(midi, (str, os.PathLike, MidiData)):
        return midi
    if isinstance(midi, (bytes, bytearray, memoryview)):
        return MidiData(bytes(midi), "<bytes>")
    if callable(getattr(midi, "read", None)):
        name = getattr(midi, "name", None)
        name = str(name) if isinstance(name, (str, os.PathLike)) else "<file object>"
        data = midi.read()
        if isinstance(data, str):
            raise TypeError(f"{name}: a MIDI file must be opened in binary mode (open(path, 'rb'))")
        return MidiData(data, name)
    if hasattr(midi, "tracks") and callable(getattr(midi, "save", None)):
        buf = io.BytesIO()
        midi.save(file=buf)
        return MidiData(buf.getvalue(), getattr(midi, "filename", None) or f"<{type(midi).__name__}>")
    raise TypeError("midi must be a path, bytes, a binary file object or a mido.MidiFile, "
                    f"got {type(midi).__name__}")
