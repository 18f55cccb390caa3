"""Patch references as users write them: ``bank.syx``, ``bank.syx:11``, ``patch.json``, or a built-in name.

``resolve_patch(spec)`` returns a ``Patch`` (one voice, a JSON patch, a
built-in name) or a list of ``Patch``es (a whole bank). Errors name the file
or the reference and what is wrong with it.

A file with several 32-voice banks (a DX7II dump holds two) numbers its
voices on from bank to bank: ``bank.syx:33`` is voice 1 of the second bank,
and ``bank.syx`` alone is every voice of every bank (a program change N picks
voice N + 1). What loading a bank noticed (values clamped or masked, a stale
checksum accepted, skipped messages) is appended to ``warnings`` when a list
is given: for ``bank.syx:N`` the findings of voice N and those about the file.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from fmcore.errors import FmcoreError
from fmcore.patch import Patch


class PatchRefError(FmcoreError, ValueError):
    """A patch reference that does not resolve."""


_VOICE = re.compile(r"^(?P<path>.+\.syx):(?P<n>[^:/\\]+)$", re.IGNORECASE)
#: voices the engine's program bank holds (program changes 0..127)
PROGRAMS = 128


def _banks(path: str, strict: bool):
    from fmcore.dx7 import load_banks

    return load_banks(path, strict=strict)


def _file_findings(bank) -> list:
    # findings about the file or the whole message rather than one voice
    return [f for f in bank.report if f.voice is None]


def _dedupe(items: list) -> list:
    seen, out = set(), []
    for f in items:
        if str(f) not in seen:
            seen.add(str(f))
            out.append(f)
    return out


def resolve_patch(spec: str | os.PathLike, strict_sysex: bool = True,
                  warnings: list | None = None) -> Patch | list[Patch]:
    """Resolve a reference: ``bank.syx[:N]`` (N = 1..32 per bank in the file), ``patch.json``, or a built-in name.

    ``warnings``: a list that receives the one-line findings of loading a SysEx bank (as strings).
    """
    from fmcore.dx7.model import voice_to_patch
    from fmcore.presets import builtin_names, builtin_patch

    text = os.fspath(spec)
    m = _VOICE.match(text)
    if m:
        try:
            n = int(m.group("n"))
        except ValueError:
            raise PatchRefError(f"{text}: the voice after ':' must be a number (1..32 in a 32-voice bank), "
                                f"got {m.group('n')!r}") from None
        if n < 1:
            raise PatchRefError(f"{text}: voice {n} outside 1..32")
        banks = _banks(m.group("path"), strict_sysex)
        total = 32 * len(banks)
        if n > total:
            held = "one 32-voice bank" if len(banks) == 1 else f"{len(banks)} banks of 32 voices"
            raise PatchRefError(f"{text}: voice {n} outside 1..{total} (the file holds {held})")
        bank = banks[(n - 1) // 32]
        number = (n - 1) % 32 + 1
        if warnings is not None:
            own = [f for f in bank.report if f.voice == number]
            warnings += [str(f) for f in _dedupe(own + _file_findings(bank))]
        return voice_to_patch(bank[number - 1])
    suffix = Path(text).suffix.lower()
    if suffix == ".syx":
        banks = _banks(text, strict_sysex)
        voices = [v for b in banks for v in b]
        if warnings is not None:
            warnings += [str(f) for f in _dedupe([f for b in banks for f in b.report])]
            if len(voices) > PROGRAMS:
                warnings.append(f"{text}: holds {len(voices)} voices; program changes reach the first {PROGRAMS}")
        return [voice_to_patch(v) for v in voices[:PROGRAMS]]
    if suffix == ".json":
        return Patch.load(text)
    try:
        return builtin_patch(text)
    except KeyError:
        raise PatchRefError(f"{text}: not a .syx bank, a .json patch, or a built-in patch "
                            f"(built-in: {', '.join(builtin_names())})") from None
