"""DX7 voices and their SysEx files (32-voice banks and single voices), and DX7 voices as engine patches."""
from fmcore.dx7.sysex import (Finding, SysexContents, SysexError, load_bank, load_banks, load_patch_sysex,
                              read_sysex)
from fmcore.dx7.voice import OPERATOR_RANGES, VOICE_RANGES, Bank, Dx7Operator, Dx7Voice
from fmcore.dx7.model import bank_to_patches, voice_to_patch

__all__ = ["Bank", "Dx7Operator", "Dx7Voice", "Finding", "OPERATOR_RANGES", "SysexContents", "SysexError",
           "VOICE_RANGES", "bank_to_patches", "load_bank", "load_banks", "load_patch_sysex", "read_sysex",
           "voice_to_patch"]
