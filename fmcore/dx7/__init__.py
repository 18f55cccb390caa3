"""DX7 voices and their SysEx files (32-voice banks and single voices); no sound here."""
from fmcore.dx7.sysex import (Finding, SysexContents, SysexError, load_bank, load_banks, load_patch_sysex,
                              read_sysex)
from fmcore.dx7.voice import OPERATOR_RANGES, VOICE_RANGES, Bank, Dx7Operator, Dx7Voice

__all__ = ["Bank", "Dx7Operator", "Dx7Voice", "Finding", "OPERATOR_RANGES", "SysexContents", "SysexError",
           "VOICE_RANGES", "load_bank", "load_banks", "load_patch_sysex", "read_sysex"]
