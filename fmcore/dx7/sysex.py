"""DX7 SysEx files: 32-voice banks (VMEM) and single voices (VCED), in and out.

Files are identified by their message headers, never by size:

* ``F0 43 0n 09 20 00`` + 4096 data bytes + checksum + ``F7`` — a 32-voice bank (4104 bytes);
* ``F0 43 0n 00 01 1B`` + 155 data bytes + checksum + ``F7`` — a single voice (163 bytes).

A file may hold several messages (a DX7II dump, a bank followed by other data);
the DX7 ones are loaded and every other one is skipped with a note saying what
it was. Real banks often carry out-of-range values: they are clamped (or, for
bits outside a packed byte's fields, masked) and each one is reported by voice
number, voice name and field, so loading never fails on them. What does fail
is a file that is not a DX7 dump, a truncated one, or (with ``strict=True``,
the default) a checksum that does not match; the :class:`SysexError` message
is one line starting with the file's path (or ``<bytes>``).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from fmcore.dx7.voice import (BANK_SIZE, N_OPERATORS, NAME_LENGTH, OPERATOR_RANGES, VOICE_RANGES, Bank,
                              Dx7Operator, Dx7Voice)

Source = Union[str, os.PathLike, bytes, bytearray, memoryview]

YAMAHA_ID = 0x43
FORMAT_VCED = 0x00          # DX7 single voice
FORMAT_VMEM = 0x09          # DX7 32 voices, packed
VCED_SIZE = 155             # data bytes of a single voice
VMEM_VOICE_SIZE = 128       # packed bytes per voice in a bank
VMEM_SIZE = BANK_SIZE * VMEM_VOICE_SIZE
HEADER_SIZE = 6             # F0 43 0n ff bh bl
BANK_MESSAGE_SIZE = HEADER_SIZE + VMEM_SIZE + 2
VOICE_MESSAGE_SIZE = HEADER_SIZE + VCED_SIZE + 2
_OP_VCED_SIZE = 21
_OP_VMEM_SIZE = 17
_VMEM_NAME_AT = 118
_VCED_NAME_AT = 145


class SysexError(ValueError):
    """A SysEx file that cannot be loaded; ``str()`` is ``"<path>: <problem>"`` on one line."""


@dataclass(frozen=True)
class Finding:
    """One thing a load noticed but got past; ``str()`` is a one-line message starting with the source.

    ``kind`` is one of ``"clamped"`` (a field outside its range, set to the
    nearest legal value), ``"masked"`` (bits outside a packed byte's fields
    dropped), ``"bit7"`` (a data byte >= 0x80, masked with 0x7F), ``"checksum"``
    (wrong checksum accepted with ``strict=False``), ``"unterminated"`` (a
    message whole but for its final F7, loaded), ``"skipped"`` (a message or
    bytes that are not DX7 voice data), ``"unused"`` (DX7 data present in the
    file but not returned by this call). ``voice`` is 1-based; ``offset`` is
    the byte's position in the file.
    """

    kind: str
    message: str
    voice: int | None = None
    voice_name: str | None = None
    field: str | None = None
    offset: int | None = None
    stored: int | None = None
    used: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class SysexContents:
    """Everything DX7 in one file: its banks and single voices, in file order, and what was found.

    ``report`` lists every finding of the file in order: those of each bank and
    voice, and what was skipped. ``voice_reports[i]`` holds the findings of
    ``voices[i]`` alone (a bank's own findings are its ``report``). ``skipped``
    lists ``(file offset, what it was)`` for every message or run of bytes that
    is not loadable DX7 voice data.
    """

    source: str
    banks: list[Bank] = field(default_factory=list)
    voices: list[Dx7Voice] = field(default_factory=list)
    voice_reports: list[list[Finding]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    report: list[Finding] = field(default_factory=list)
    # messages with a DX7 header that could not be read (strict=False): offset -> problem
    _damaged: dict[int, str] = field(default_factory=dict, repr=False)


def checksum(data: bytes | Iterable[int]) -> int:
    """The DX7 checksum of a message's data bytes: the 7-bit two's complement of their sum."""
    return -sum(data) & 0x7F


# --------------------------------------------------------------------------------------------
# Byte layouts. A layout is one entry per data byte: a tuple of (key, shift, width) for the
# fields packed into it, where key is (operator index 0..5 with 0 = OP1, or None for voice
# fields, field name). Name bytes are handled apart. Built from tables so pack and unpack
# cannot disagree.
# --------------------------------------------------------------------------------------------
_Key = tuple[Union[int, None], str]
_Slot = tuple[tuple[_Key, int, int], ...]

_OP_NAMES = tuple(OPERATOR_RANGES)
_VOICE_NAMES = tuple(VOICE_RANGES)


def _plain(key: _Key) -> _Slot:
    return ((key, 0, 7),)


def _vmem_layout() -> list[_Slot]:
    layout: list[_Slot] = []
    for stored in range(N_OPERATORS):          # OP6 is stored first
        op = N_OPERATORS - 1 - stored
        layout += [_plain((op, n)) for n in _OP_NAMES[:11]]      # rates, levels, break point, depths
        layout.append((((op, "left_curve"), 0, 2), ((op, "right_curve"), 2, 2)))
        layout.append((((op, "rate_scaling"), 0, 3), ((op, "detune"), 3, 4)))
        layout.append((((op, "amp_mod_sens"), 0, 2), ((op, "key_vel_sens"), 2, 3)))
        layout.append(_plain((op, "output_level")))
        layout.append((((op, "osc_mode"), 0, 1), ((op, "freq_coarse"), 1, 5)))
        layout.append(_plain((op, "freq_fine")))
    layout += [_plain((None, n)) for n in _VOICE_NAMES[:8]]      # pitch EG
    layout.append((((None, "algorithm"), 0, 5),))
    layout.append((((None, "feedback"), 0, 3), ((None, "osc_key_sync"), 3, 1)))
    layout += [_plain((None, n)) for n in ("lfo_speed", "lfo_delay", "lfo_pmd", "lfo_amd")]
    layout.append((((None, "lfo_key_sync"), 0, 1), ((None, "lfo_wave"), 1, 3), ((None, "pitch_mod_sens"), 4, 3)))
    layout.append(_plain((None, "transpose")))
    assert len(layout) == _VMEM_NAME_AT
    return layout


def _vced_layout() -> list[_Slot]:
    layout: list[_Slot] = []
    for stored in range(N_OPERATORS):
        op = N_OPERATORS - 1 - stored
        layout += [_plain((op, n)) for n in _OP_NAMES]
    layout += [_plain((None, n)) for n in _VOICE_NAMES]
    assert len(layout) == _VCED_NAME_AT
    return layout


_VMEM_LAYOUT = _vmem_layout()
_VCED_LAYOUT = _vced_layout()


@dataclass(frozen=True)
class _Fix:
    """An out-of-range value met while unpacking one voice (no file context yet)."""

    kind: str          # "clamped" or "masked"
    field: str         # "op2.eg_level3", "feedback", "feedback+osc_key_sync"
    index: int         # byte index inside the voice's data
    stored: int
    used: int
    legal: str         # "0..99", or the fields a masked byte holds


def _label(key: _Key) -> str:
    op, name = key
    return name if op is None else f"op{op + 1}.{name}"


def _pack(voice: Dx7Voice, layout: list[_Slot], size: int) -> bytes:
    voice.validate()
    out = bytearray(size)
    for i, slot in enumerate(layout):
        b = 0
        for (op, name), shift, _width in slot:
            b |= getattr(voice if op is None else voice.ops[op], name) << shift
        out[i] = b
    name_at = len(layout)
    out[name_at:name_at + NAME_LENGTH] = voice.name.ljust(NAME_LENGTH).encode("ascii")
    return bytes(out)


def _unpack(data: bytes, layout: list[_Slot]) -> tuple[Dx7Voice, list[_Fix]]:
    fixes: list[_Fix] = []
    op_values: list[dict[str, int]] = [{} for _ in range(N_OPERATORS)]
    voice_values: dict[str, int] = {}
    for i, slot in enumerate(layout):
        b = data[i] & 0x7F
        if len(slot) > 1 or slot[0][2] < 7:
            used_bits = 0
            for _key, shift, width in slot:
                used_bits |= ((1 << width) - 1) << shift
            if b & ~used_bits:
                op = slot[0][0][0]
                names = "+".join(name for (_op, name), _s, _w in slot)
                label = names if op is None else f"op{op + 1}.{names}"
                fixes.append(_Fix("masked", label, i, b, b & used_bits, names))
                b &= used_bits
        for key, shift, width in slot:
            op, name = key
            lo, hi = (VOICE_RANGES if op is None else OPERATOR_RANGES)[name]
            value = (b >> shift) & ((1 << width) - 1)
            if not lo <= value <= hi:
                clamped = min(max(value, lo), hi)
                fixes.append(_Fix("clamped", _label(key), i, value, clamped, f"{lo}..{hi}"))
                value = clamped
            (voice_values if op is None else op_values[op])[name] = value
    name_at = len(layout)
    name = "".join(chr(c & 0x7F) for c in data[name_at:name_at + NAME_LENGTH])
    voice = Dx7Voice(ops=[Dx7Operator(**v) for v in op_values], name=name, **voice_values)
    return voice, fixes


def pack_vmem(voice: Dx7Voice) -> bytes:
    """The 128 packed bytes of ``voice`` as they sit in a 32-voice bank (ValueError if out of range)."""
    return _pack(voice, _VMEM_LAYOUT, VMEM_VOICE_SIZE)


def pack_vced(voice: Dx7Voice) -> bytes:
    """The 155 data bytes of a single-voice dump of ``voice`` (ValueError if out of range)."""
    return _pack(voice, _VCED_LAYOUT, VCED_SIZE)


def unpack_vmem(data: bytes) -> Dx7Voice:
    """A voice from its 128 packed bank bytes; out-of-range values are clamped silently
    (the file loaders report them)."""
    if len(data) != VMEM_VOICE_SIZE:
        raise ValueError(f"a packed DX7 voice is {VMEM_VOICE_SIZE} bytes, got {len(data)}")
    return _unpack(bytes(data), _VMEM_LAYOUT)[0]


def unpack_vced(data: bytes) -> Dx7Voice:
    """A voice from the 155 data bytes of a single-voice dump; values are clamped silently."""
    if len(data) != VCED_SIZE:
        raise ValueError(f"DX7 single-voice data is {VCED_SIZE} bytes, got {len(data)}")
    return _unpack(bytes(data), _VCED_LAYOUT)[0]


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
def _message(fmt: int, payload: bytes, channel: int) -> bytes:
    if not isinstance(channel, int) or not 0 <= channel <= 15:
        raise ValueError(f"channel must be 0..15, got {channel!r}")
    n = len(payload)
    return bytes([0xF0, YAMAHA_ID, channel, fmt, n >> 7, n & 0x7F]) + payload + bytes([checksum(payload), 0xF7])


def voice_to_sysex(voice: Dx7Voice, channel: int = 0) -> bytes:
    """A DX7 single-voice dump (VCED, 163 bytes)."""
    return _message(FORMAT_VCED, pack_vced(voice), channel)


def bank_to_sysex(voices: Sequence[Dx7Voice], channel: int = 0) -> bytes:
    """A DX7 32-voice dump (VMEM, 4104 bytes) of exactly 32 voices."""
    if len(voices) != BANK_SIZE:
        raise ValueError(f"a DX7 bank holds {BANK_SIZE} voices, got {len(voices)}")
    return _message(FORMAT_VMEM, b"".join(pack_vmem(v) for v in voices), channel)


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename,
    so a failure never leaves a partial file under that name."""
    from fmcore.atomicfile import write_bytes

    dest = Path(path)
    if not dest.parent.is_dir():
        raise SysexError(f"{dest}: directory {dest.parent} does not exist")
    return write_bytes(dest, data)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
_MANUFACTURERS = {0x40: "Kawai", 0x41: "Roland", 0x42: "Korg", 0x43: "Yamaha", 0x44: "Casio",
                  0x47: "Akai", 0x7E: "universal non-real-time", 0x7F: "universal real-time"}

# Yamaha bulk-dump format numbers (byte 3) other than the two DX7 ones.
_YAMAHA_FORMATS = {
    0x03: "a DX21/DX27/DX100/TX81Z single voice (VCED format 03)",
    0x04: "a DX21/TX81Z 32-voice bank (VMEM format 04)",
    0x05: "DX7II additional voice data (ACED format 05)",
    0x06: "a DX7II 32-voice additional bank (AMEM format 06)",
}

# Yamaha "universal bulk dump" (format 7E) names its data in ASCII after the byte count.
_UNIVERSAL_NAMES = {
    "LM  8976AE": "TX81Z additional voice data (ACED)",
    "LM  8976PE": "a TX81Z performance (PCED)",
    "LM  8976PM": "a TX81Z performance bank (PMEM)",
    "LM  8973PE": "a DX7II performance",
    "LM  8973PM": "a DX7II performance bank",
    "LM  8973S ": "DX7II system setup",
}


@dataclass
class _Message:
    offset: int
    raw: bytes
    terminated: bool


def _read(src: Source) -> tuple[str, bytes]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return "<bytes>", bytes(src)
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        with open(path, "rb") as f:   # OSError (no such file, ...) names the path itself
            return str(path), f.read()
    raise TypeError(f"expected a path or bytes, got {type(src).__name__}")


def _declared_end(data: bytes, pos: int) -> int | None:
    """Index of the F7 closing a Yamaha bulk dump at ``pos``, trusting its byte count.

    Using the count (rather than the next F7) keeps a damaged data byte that happens
    to be F7 or F0 inside the message, where it is reported as a bit-7 byte.
    """
    if len(data) - pos < HEADER_SIZE or data[pos + 1] != YAMAHA_ID or data[pos + 2] >> 4 != 0:
        return None
    end = pos + HEADER_SIZE + ((data[pos + 4] << 7) | data[pos + 5]) + 1
    return end if end < len(data) and data[end] == 0xF7 else None


def _split(data: bytes) -> tuple[list[_Message], list[tuple[int, int]]]:
    """SysEx messages in file order, and (offset, length) runs of bytes outside any message."""
    messages: list[_Message] = []
    junk: list[tuple[int, int]] = []
    pos, n = 0, len(data)
    while pos < n:
        if data[pos] != 0xF0:
            nxt = data.find(b"\xF0", pos)
            end = n if nxt < 0 else nxt
            junk.append((pos, end - pos))
            pos = end
            continue
        end = _declared_end(data, pos)
        terminated = True
        if end is None:
            f7 = data.find(b"\xF7", pos + 1)
            f0 = data.find(b"\xF0", pos + 1)
            if f7 >= 0 and (f0 < 0 or f7 < f0):
                end = f7
            else:  # unterminated: runs to the next message or the end of the file
                end, terminated = (f0 if f0 >= 0 else n) - 1, False
        messages.append(_Message(pos, data[pos:end + 1], terminated))
        pos = end + 1
    return messages, junk


def _describe(raw: bytes) -> str:
    """What a SysEx message is, for a note or an error ("a Roland SysEx message ...")."""
    if len(raw) < 2:
        return "an empty SysEx message"
    maker = raw[1]
    if maker != YAMAHA_ID:
        if maker == 0x00 and len(raw) >= 4:
            return f"a SysEx message with manufacturer ID 00 {raw[2]:02X} {raw[3]:02X} (not Yamaha)"
        who = _MANUFACTURERS.get(maker)
        return f"a {who} SysEx message (ID 0x{maker:02X})" if who else \
            f"a SysEx message with manufacturer ID 0x{maker:02X} (not Yamaha)"
    if len(raw) < 4:
        return "a Yamaha SysEx message too short to identify"
    sub = raw[2] >> 4
    if sub == 1:
        return "a Yamaha parameter change message"
    if sub == 2:
        return "a Yamaha dump request message"
    if sub != 0:
        return f"a Yamaha SysEx message with sub-status 0x{raw[2]:02X}"
    fmt = raw[3]
    if fmt == 0x7E and len(raw) >= 16:
        name = raw[6:16].decode("ascii", "replace")
        return _UNIVERSAL_NAMES.get(name, f"a Yamaha universal bulk dump named {name.rstrip()!r}")
    return _YAMAHA_FORMATS.get(fmt, f"a Yamaha bulk dump of format 0x{fmt:02X}")


_KIND_TEXT = {FORMAT_VMEM: "DX7 32-voice bank (VMEM)", FORMAT_VCED: "DX7 single voice (VCED)"}
_DATA_SIZE = {FORMAT_VMEM: VMEM_SIZE, FORMAT_VCED: VCED_SIZE}


def _dx7_format(raw: bytes) -> int | None:
    """FORMAT_VMEM / FORMAT_VCED when the header says DX7 voice data, else None."""
    if len(raw) >= 4 and raw[1] == YAMAHA_ID and raw[2] >> 4 == 0 and raw[3] in _KIND_TEXT:
        return raw[3]
    return None


def _damage(msg: _Message, fmt: int, file_size: int) -> str | None:
    """Why a message with a DX7 header cannot be read, or None when it is whole."""
    what, size = _KIND_TEXT[fmt], _DATA_SIZE[fmt]
    full = HEADER_SIZE + size + 2
    if len(msg.raw) < HEADER_SIZE:
        return f"truncated: the {what} at byte {msg.offset} ends inside its header"
    declared = (msg.raw[4] << 7) | msg.raw[5]
    if declared != size:
        return f"the {what} header at byte {msg.offset} declares {declared} data bytes, a DX7 one has {size}"
    if not msg.terminated:
        if len(msg.raw) >= full:
            return (f"the {what} at byte {msg.offset} has no F7 where its {full} bytes end "
                    f"(byte {msg.offset + full - 1} is 0x{msg.raw[full - 1]:02X})")
        if msg.offset + len(msg.raw) == file_size:
            return (f"truncated: the {what} starting at byte {msg.offset} needs {full} bytes, "
                    f"the file ends after {len(msg.raw)}")
        return (f"truncated: the {what} starting at byte {msg.offset} has {len(msg.raw)} of its {full} bytes "
                f"before the next message")
    if len(msg.raw) != full:
        return (f"the {what} at byte {msg.offset} is {len(msg.raw)} bytes long, not {full}: "
                f"data bytes are missing or extra")
    return None


def _missing_final_f7(msg: _Message, fmt: int) -> bool:
    """Whether ``msg`` is whole but for its closing F7 (the file, or the next message, starts right after
    the checksum): the data and checksum are all there, so it loads, with a warning."""
    return (not msg.terminated and len(msg.raw) == HEADER_SIZE + _DATA_SIZE[fmt] + 1
            and ((msg.raw[4] << 7) | msg.raw[5]) == _DATA_SIZE[fmt])


def _load_message(source: str, msg: _Message, fmt: int, strict: bool) -> tuple[list[Dx7Voice], list[Finding]]:
    """Decode one whole DX7 message: check its checksum and bytes, unpack and report its voices."""
    what, size = _KIND_TEXT[fmt], _DATA_SIZE[fmt]
    data_at = msg.offset + HEADER_SIZE
    payload = msg.raw[HEADER_SIZE:HEADER_SIZE + size]
    stored, computed = msg.raw[HEADER_SIZE + size], checksum(payload)
    findings: list[Finding] = []
    if _missing_final_f7(msg, fmt):
        findings.append(Finding("unterminated", f"{source}: the {what} at byte {msg.offset} has no closing F7 "
                                                f"after its checksum; loaded anyway",
                                offset=msg.offset + len(msg.raw)))
    if stored != computed:
        text = f"checksum mismatch in the {what} at byte {msg.offset}: stored 0x{stored:02X}, computed 0x{computed:02X}"
        if strict:
            raise SysexError(f"{source}: {text} (the data is damaged or was edited without updating the "
                             f"checksum; to load it anyway use --ignore-checksum on the command line, "
                             f"strict=False in Python)")
        findings.append(Finding("checksum", f"{source}: {text}; loaded anyway (strict=False)",
                                offset=msg.offset + HEADER_SIZE + size, stored=stored, used=computed))

    per_voice = VMEM_VOICE_SIZE if fmt == FORMAT_VMEM else VCED_SIZE
    layout = _VMEM_LAYOUT if fmt == FORMAT_VMEM else _VCED_LAYOUT
    voices: list[Dx7Voice] = []
    for v in range(size // per_voice):
        chunk = payload[v * per_voice:(v + 1) * per_voice]
        voice, fixes = _unpack(chunk, layout)
        voices.append(voice)
        # A bank's voices are numbered 1..32; a single voice has no number.
        number = v + 1 if fmt == FORMAT_VMEM else None
        who = f"voice {number} ({voice.display_name!r})" if number else f"voice {voice.display_name!r}"
        for i, b in enumerate(chunk):
            if b & 0x80:
                at = data_at + v * per_voice + i
                findings.append(Finding(
                    "bit7", f"{source}: byte {at} ({who}) is 0x{b:02X}, bit 7 set in a data byte "
                            f"(the checksum cannot see it); masked to 0x{b & 0x7F:02X}",
                    voice=number, voice_name=voice.display_name, offset=at, stored=b, used=b & 0x7F))
        for fx in fixes:
            at = data_at + v * per_voice + fx.index
            if fx.kind == "masked":
                text = (f"byte {fx.index} ({fx.field}) = 0x{fx.stored:02X} has bits outside its fields; "
                        f"masked to 0x{fx.used:02X}")
            else:
                text = f"{fx.field} = {fx.stored} is outside {fx.legal}; clamped to {fx.used}"
            findings.append(Finding(fx.kind, f"{source}: {who} {text} (file byte {at})", voice=number,
                                    voice_name=voice.display_name, field=fx.field, offset=at,
                                    stored=fx.stored, used=fx.used))
    return voices, findings


def read_sysex(src: Source, strict: bool = True) -> SysexContents:
    """Every DX7 bank and single voice in a file (or bytes), with a report of what else it held.

    Raises :class:`SysexError` when the input is empty or not SysEx at all, when a
    DX7 message is truncated or malformed (with ``strict=False`` such a message
    is skipped and reported instead), or on a checksum mismatch unless
    ``strict=False``. A file with no DX7 data at all is *not* an error here: the
    result is empty and ``skipped`` says what the file held.
    """
    source, data = _read(src)
    if not data:
        raise SysexError(f"{source}: empty file, not a SysEx dump")
    messages, junk = _split(data)
    if not messages:
        kind = "a Standard MIDI File (MThd), not a SysEx dump" if data.startswith(b"MThd") else \
            f"not a SysEx file: it starts with {data[:4].hex(' ').upper()}, a SysEx dump starts with F0"
        raise SysexError(f"{source}: {kind}")

    out = SysexContents(source)
    items: list[tuple[int, Finding]] = []

    def skip(at: int, what: str, size: str = "") -> None:
        out.skipped.append((at, what))
        items.append((at, Finding("skipped", f"{source}: skipped {what} at byte {at}{size}", offset=at)))

    for at, length in junk:
        skip(at, f"{length} byte(s) outside any SysEx message")
    for msg in messages:
        fmt = _dx7_format(msg.raw)
        if fmt is None and not msg.terminated and len(msg.raw) < HEADER_SIZE:
            # Too short to tell what it was meant to be: that it was cut off is the news.
            problem = f"truncated: the SysEx message at byte {msg.offset} ends after {len(msg.raw)} byte(s), " \
                      f"inside its header"
        elif fmt is None:
            cut = "" if msg.terminated else ", truncated (no F7)"
            skip(msg.offset, _describe(msg.raw), f" ({len(msg.raw)} bytes{cut})")
            continue
        else:
            problem = None if _missing_final_f7(msg, fmt) else _damage(msg, fmt, len(data))
        if problem:
            if strict:
                raise SysexError(f"{source}: {problem}")
            out._damaged[msg.offset] = problem
            skip(msg.offset, f"a damaged message ({problem})")
            continue
        voices, findings = _load_message(source, msg, fmt, strict)
        items += [(msg.offset, f) for f in findings]
        if fmt == FORMAT_VMEM:
            out.banks.append(Bank(voices, report=findings, source=source, channel=msg.raw[2] & 0x0F))
        else:
            out.voices.append(voices[0])
            out.voice_reports.append(findings)
    out.skipped.sort()
    out.report = [f for _, f in sorted(items, key=lambda item: item[0])]  # stable: file order
    return out


def _nothing_found(contents: SysexContents, wanted: str) -> SysexError:
    src = contents.source
    if wanted == "bank" and contents.voices:
        return SysexError(f"{src}: a DX7 single voice (VCED), not a 32-voice bank; load it with load_patch_sysex")
    if wanted == "voice" and contents.banks:
        return SysexError(f"{src}: a DX7 32-voice bank (VMEM), not a single voice; load it with load_bank")
    if len(contents._damaged) == 1 and len(contents.skipped) == 1:
        return SysexError(f"{src}: {next(iter(contents._damaged.values()))}")
    target = "DX7 bank" if wanted == "bank" else "DX7 single voice"
    if len(contents.skipped) == 1:
        return SysexError(f"{src}: {contents.skipped[0][1]}, not a {target}")
    held = "; ".join(f"{what} at byte {at}" for at, what in contents.skipped)
    return SysexError(f"{src}: no {target} in this file; it holds {held}")


def _file_notes(contents: SysexContents) -> list[Finding]:
    return [f for f in contents.report if f.kind == "skipped"]


def load_banks(src: Source, strict: bool = True) -> list[Bank]:
    """Every DX7 32-voice bank in a file, in order (SysexError if there is none).

    Each bank's ``report`` holds its own findings followed by the file's notes
    (what was skipped, single voices not returned), so a bank read alone still
    says what else its file held.
    """
    contents = read_sysex(src, strict)
    if not contents.banks:
        raise _nothing_found(contents, "bank")
    notes = _file_notes(contents)
    if contents.voices:
        notes.append(Finding("unused", f"{contents.source}: also holds {len(contents.voices)} DX7 single "
                                       f"voice(s), not loaded (use load_patch_sysex or read_sysex)"))
    for bank in contents.banks:
        bank.report += notes
    return contents.banks


def load_bank(src: Source, strict: bool = True) -> Bank:
    """The first DX7 32-voice bank in a file (or bytes); any further banks are named in its report.

    ``strict=False`` accepts a wrong checksum (reported) and skips damaged messages.
    """
    banks = load_banks(src, strict)
    first = banks[0]
    if len(banks) > 1:
        first.report.append(Finding("unused", f"{first.source}: also holds {len(banks) - 1} more DX7 bank(s), "
                                              f"not loaded (use load_banks)"))
    return first


def load_patch_sysex(src: Source, strict: bool = True, report: list | None = None) -> Dx7Voice:
    """The first DX7 single voice (VCED dump) in a file (or bytes).

    When ``report`` is a list, the findings are appended to it: this voice's
    (clamped values, bit-7 bytes, a stale checksum with ``strict=False``), what
    was skipped, and any further voices or banks not returned.
    """
    contents = read_sysex(src, strict)
    if not contents.voices:
        raise _nothing_found(contents, "voice")
    if report is not None:
        report += contents.voice_reports[0] + _file_notes(contents)
        extra = len(contents.voices) - 1
        if extra or contents.banks:
            report.append(Finding("unused", f"{contents.source}: also holds {extra} more single voice(s) and "
                                            f"{len(contents.banks)} bank(s), not loaded (use read_sysex)"))
    return contents.voices[0]
