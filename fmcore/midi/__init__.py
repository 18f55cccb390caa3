"""MIDI files in: a Standard MIDI File reader with an exact tempo map, and a summary for ``fmcore info``."""
from fmcore.midi.info import format_info, song_info
from fmcore.midi.reader import (DEFAULT_TEMPO, EVENT_DTYPE, EVENT_FIELDS, MidiFileError, MidiSong, parse_midi,
                                read_midi)
from fmcore.midi.source import MidiData, midi_source

__all__ = ["DEFAULT_TEMPO", "EVENT_DTYPE", "EVENT_FIELDS", "MidiData", "MidiFileError", "MidiSong", "format_info",
           "midi_source", "parse_midi", "read_midi", "song_info"]
