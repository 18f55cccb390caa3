"""General MIDI names: the 128 programs, the percussion keys of channel 10, the GS drum kits.

Programs are 0-based here, as in MIDI bytes; people (and ``fmcore info``) count them 1-128.
"""
from __future__ import annotations

__all__ = ["PROGRAM_NAMES", "FAMILY_NAMES", "DRUM_KEY_NAMES", "DRUM_KIT_NAMES", "program_name", "drum_kit_name",
           "format_patches"]

#: General MIDI Level 1 program names, index = program number (0-127).
PROGRAM_NAMES: tuple[str, ...] = (
    # Piano
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavi",
    # Chromatic Percussion
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    # Organ
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
    "Tango Accordion",
    # Guitar
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)", "Electric Guitar (clean)",
    "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics",
    # Bass
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    # Strings
    "Violin", "Viola", "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp",
    "Timpani",
    # Ensemble
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
    "Synth Voice", "Orchestra Hit",
    # Brass
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section", "Synth Brass 1",
    "Synth Brass 2",
    # Reed
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet",
    # Pipe
    "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    # Synth Lead
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
    "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    # Synth Pad
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)",
    "Pad 7 (halo)", "Pad 8 (sweep)",
    # Synth Effects
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)",
    "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    # Ethnic
    "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bag pipe", "Fiddle", "Shanai",
    # Percussive
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum",
    "Reverse Cymbal",
    # Sound Effects
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
)

#: The 16 families of 8 programs each, index = program // 8.
FAMILY_NAMES: tuple[str, ...] = (
    "Piano", "Chromatic Percussion", "Organ", "Guitar", "Bass", "Strings", "Ensemble", "Brass", "Reed", "Pipe",
    "Synth Lead", "Synth Pad", "Synth Effects", "Ethnic", "Percussive", "Sound Effects",
)

#: General MIDI Level 1 percussion keys (channel 10): note number -> name, keys 35-81.
DRUM_KEY_NAMES: dict[int, str] = dict(enumerate((
    "Acoustic Bass Drum", "Bass Drum 1", "Side Stick", "Acoustic Snare", "Hand Clap", "Electric Snare",
    "Low Floor Tom", "Closed Hi-Hat", "High Floor Tom", "Pedal Hi-Hat", "Low Tom", "Open Hi-Hat", "Low-Mid Tom",
    "Hi-Mid Tom", "Crash Cymbal 1", "High Tom", "Ride Cymbal 1", "Chinese Cymbal", "Ride Bell", "Tambourine",
    "Splash Cymbal", "Cowbell", "Crash Cymbal 2", "Vibraslap", "Ride Cymbal 2", "Hi Bongo", "Low Bongo",
    "Mute Hi Conga", "Open Hi Conga", "Low Conga", "High Timbale", "Low Timbale", "High Agogo", "Low Agogo",
    "Cabasa", "Maracas", "Short Whistle", "Long Whistle", "Short Guiro", "Long Guiro", "Claves", "Hi Wood Block",
    "Low Wood Block", "Mute Cuica", "Open Cuica", "Mute Triangle", "Open Triangle",
), start=35))

#: Roland GS drum kits (programs on channel 10, 0-based), which GM files often select.
DRUM_KIT_NAMES: dict[int, str] = {0: "Standard Kit", 8: "Room Kit", 16: "Power Kit", 24: "Electronic Kit",
                                  25: "TR-808 Kit", 32: "Jazz Kit", 40: "Brush Kit", 48: "Orchestra Kit",
                                  56: "SFX Kit"}


def program_name(program: int) -> str:
    """The General MIDI name of ``program`` (0-127)."""
    return PROGRAM_NAMES[program]


def drum_kit_name(program: int) -> str:
    """The GS drum kit ``program`` (0-127) selects on channel 10, or "drum kit" for others."""
    return DRUM_KIT_NAMES.get(program, "drum kit")


def format_patches() -> str:
    """The built-in patches and the General MIDI map as text (``fmcore patches``): each patch with
    the programs (1-128) that play it, then every program and every GM drum key with its patch."""
    from fmcore.presets import builtin_names, drum_kit, gm_bank

    bank = [p.name for p in gm_bank()]
    kit = {note: p.name for note, p in drum_kit().items()}
    uses: dict[str, list[int]] = {}
    for program, name in enumerate(bank):
        uses.setdefault(name, []).append(program + 1)
    names = builtin_names()
    width = max(map(len, names + list(kit.values()))) + 2
    lines = [f"built-in patches ({len(names)}; --patch NAME plays one on every channel but 10):"]
    for name in names:
        programs = uses.get(name)
        lines.append(f"  {name:<{width}}" + (f"GM {_ranges(programs)}" if programs else "-"))
    lines.append("General MIDI programs (1-128) -> patch:")
    for program, name in enumerate(bank):
        lines.append(f"  {program + 1:3d}  {PROGRAM_NAMES[program]:<26}{name}")
    lines.append(f"drum kit (channel 10): {len(kit)} of the {len(DRUM_KEY_NAMES)} GM keys play -> patch:")
    for note in sorted(set(DRUM_KEY_NAMES) | set(kit)):
        label = DRUM_KEY_NAMES.get(note, "(not a GM key)")
        lines.append(f"  {note:3d}  {label:<26}{kit.get(note, '(silent)')}")
    return "\n".join(lines)


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> "1-3, 5"."""
    out, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            out.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(out)
