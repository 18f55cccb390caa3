"""Patch references as users write them: ``bank.syx``, ``bank.syx:11``, ``patch.json``, or a built-in name.

``resolve_patch(spec)`` returns a ``Patch`` (one voice, a JSON patch, a
built-in name) or a list of ``Patch``es (a whole bank). Errors name the file
or the reference and what is wrong with it.
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


def _bank_patches(path: str, strict: bool) -> list[Patch]:
    from fmcore.dx7 import load_bank
    from fmcore.dx7.model import voice_to_patch

    bank = load_bank(path, strict=strict)
    return [voice_to_patch(v) for v in bank]


def resolve_patch(spec: str | os.PathLike, strict_sysex: bool = True) -> Patch | list[Patch]:
    """Resolve a reference: ``bank.syx[:N]`` (N = 1..32), ``patch.json``, or a built-in patch name."""
    from fmcore.presets import builtin_names, builtin_patch

    text = os.fspath(spec)
    m = _VOICE.match(text)
    if m:
        try:
            n = int(m.group("n"))
        except ValueError:
            raise PatchRefError(f"{text}: the voice after ':' must be a number 1..32, got {m.group('n')!r}") from None
        if not 1 <= n <= 32:
            raise PatchRefError(f"{text}: voice {n} outside 1..32")
        return _bank_patches(m.group("path"), strict_sysex)[n - 1]
    suffix = Path(text).suffix.lower()
    if suffix == ".syx":
        return _bank_patches(text, strict_sysex)
    if suffix == ".json":
        return Patch.load(text)
    try:
        return builtin_patch(text)
    except KeyError:
        raise PatchRefError(f"{text}: not a .syx bank, a .json patch, or a built-in patch "
                            f"(built-in: {', '.join(builtin_names())})") from None
