"""DX7 SysEx layer: real factory banks, damaged and foreign files built here, round trips."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from fmcore.dx7.sysex import (BANK_MESSAGE_SIZE, VOICE_MESSAGE_SIZE, SysexError, checksum, load_bank, load_banks,
                              load_patch_sysex, pack_vced, pack_vmem, read_sysex, unpack_vced, unpack_vmem)
from fmcore.dx7.voice import OPERATOR_RANGES, VOICE_RANGES, Bank, Dx7Operator, Dx7Voice

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SYX = DATA / "syx"
ROM1A = SYX / "dx7-rom1a_eurorack.syx"
ROM1A_BAD_SUM = SYX / "dx7-rom1a-bad-checksum_msfa.syx"
ROM3A = SYX / "dx7-rom3a-out-of-range-params_eurorack.syx"


def raw_voice(data: bytes, number: int) -> bytes:
    """The 128 packed bytes of voice ``number`` (1-based), read straight from the file."""
    start = 6 + (number - 1) * 128
    return data[start:start + 128]


def frame(fmt: int, payload: bytes, channel: int = 0, maker: int = 0x43) -> bytes:
    """A bulk-dump message built by hand (independent of the writer under test)."""
    n = len(payload)
    return bytes([0xF0, maker, channel, fmt, n >> 7, n & 0x7F]) + payload + bytes([(-sum(payload)) & 0x7F, 0xF7])


@pytest.fixture(scope="module")
def rom1a_bytes() -> bytes:
    return ROM1A.read_bytes()


@pytest.fixture(scope="module")
def rom1a(rom1a_bytes) -> Bank:
    return load_bank(rom1a_bytes)


# ---------------------------------------------------------------------------------------------
# The real factory bank
# ---------------------------------------------------------------------------------------------
def test_rom1a_names_and_algorithms():
    bank = load_bank(ROM1A)
    assert len(bank) == 32 and bank.report == [] and bank.channel == 0
    assert bank[0].name == "BRASS   1 " and bank[0].display_name == "BRASS   1"
    names = bank.names
    assert names[1] == "BRASS   2" and names[3] == "STRINGS 1" and names[10] == "E.PIANO 1"
    assert names[13] == "SYN-LEAD 1" and names[14] == "BASS    1" and names[30] == "TRAIN"
    assert names[31] == "TAKE OFF"
    # Factory algorithms, as printed on the DX7 voice charts.
    assert bank[0].algorithm_number == 22 and bank[0].algorithm == 21
    assert bank[10].algorithm_number == 5
    assert bank[14].algorithm_number == 16
    rows = bank.rows()
    assert rows[0] == (1, "BRASS   1", 22) and rows[10] == (11, "E.PIANO 1", 5) and len(rows) == 32


def test_rom1a_fields_match_raw_bytes(rom1a, rom1a_bytes):
    # Offsets here are written out independently of the loader's layout tables.
    for number in range(1, 33):
        raw = raw_voice(rom1a_bytes, number)
        v = rom1a[number - 1]
        assert v.name == raw[118:128].decode("ascii")
        assert v.algorithm == raw[110]
        assert v.feedback == raw[111] & 7 and v.osc_key_sync == raw[111] >> 3
        assert v.lfo_speed == raw[112] and v.lfo_amd == raw[115]
        assert (v.lfo_key_sync, v.lfo_wave, v.pitch_mod_sens) == (raw[116] & 1, (raw[116] >> 1) & 7, raw[116] >> 4)
        assert v.transpose == raw[117]
        assert [v.pitch_eg_rate1, v.pitch_eg_level4] == [raw[102], raw[109]]
        for op_number in range(1, 7):
            o = v.op(op_number)
            b = raw[(6 - op_number) * 17:(7 - op_number) * 17]  # OP6 is stored first
            assert [o.eg_rate1, o.eg_rate4, o.eg_level1, o.eg_level4] == [b[0], b[3], b[4], b[7]]
            assert (o.left_curve, o.right_curve) == (b[11] & 3, b[11] >> 2)
            assert (o.rate_scaling, o.detune) == (b[12] & 7, b[12] >> 3)
            assert (o.amp_mod_sens, o.key_vel_sens) == (b[13] & 3, b[13] >> 2)
            assert o.output_level == b[14]
            assert (o.osc_mode, o.freq_coarse, o.freq_fine) == (b[15] & 1, b[15] >> 1, b[16])
    # Well-known factory values: BRASS 1 and BASS 1 have feedback 7, E.PIANO 1 has 6.
    assert rom1a[0].feedback == 7 and rom1a[14].feedback == 7 and rom1a[10].feedback == 6
    assert rom1a[0].ops[0] is rom1a[0].op(1)


def test_clean_bank_saves_byte_identical(rom1a, rom1a_bytes, tmp_path):
    assert rom1a.to_sysex() == rom1a_bytes
    out = tmp_path / "copy.syx"
    rom1a.save_sysex(out)
    assert out.read_bytes() == rom1a_bytes
    assert os.listdir(tmp_path) == ["copy.syx"]  # no temporary file left behind


def test_channel_is_kept(rom1a_bytes):
    data = bytearray(rom1a_bytes)
    data[2] = 0x05
    bank = load_bank(bytes(data))
    assert bank.channel == 5 and bank.to_sysex() == bytes(data)
    assert bank.to_sysex(channel=0) == rom1a_bytes


# ---------------------------------------------------------------------------------------------
# Checksums
# ---------------------------------------------------------------------------------------------
def test_bad_checksum_refused_when_strict():
    with pytest.raises(SysexError) as err:
        load_bank(ROM1A_BAD_SUM)
    msg = str(err.value)
    assert msg.startswith(f"{ROM1A_BAD_SUM}: ") and "\n" not in msg
    assert "stored 0x33" in msg and "computed 0x53" in msg
    with pytest.raises(SysexError, match=r"^<bytes>: checksum mismatch"):
        load_bank(ROM1A_BAD_SUM.read_bytes())


def test_bad_checksum_loads_when_not_strict(rom1a, tmp_path):
    data = ROM1A_BAD_SUM.read_bytes()
    bank = load_bank(ROM1A_BAD_SUM, strict=False)
    assert [(f.kind, f.stored, f.used) for f in bank.report] == [("checksum", 0x33, 0x53)]
    assert str(bank.report[0]).startswith(str(ROM1A_BAD_SUM))
    assert bank[30].display_name == "CHIME-STRG"
    assert [bank[i] for i in range(32) if i != 30] == [rom1a[i] for i in range(32) if i != 30]
    # Saving repairs the checksum and nothing else.
    out = tmp_path / "fixed.syx"
    bank.save_sysex(out)
    saved = out.read_bytes()
    assert saved[:-2] == data[:-2] and saved[-2] == 0x53 and saved[-1] == 0xF7
    assert load_bank(out) == bank and load_bank(out).report == []


def test_checksum_function_matches_definition(rom1a_bytes):
    payload = rom1a_bytes[6:-2]
    assert checksum(payload) == rom1a_bytes[-2]
    assert (sum(payload) + checksum(payload)) % 128 == 0


# ---------------------------------------------------------------------------------------------
# Out-of-range values in a real bank
# ---------------------------------------------------------------------------------------------
def test_rom3a_out_of_range_values_are_reported_and_fixed():
    bank = load_bank(ROM3A)
    found = {(f.voice, f.voice_name, f.field, f.kind) for f in bank.report}
    assert found == {
        (2, "HARPSICH 1", "feedback+osc_key_sync", "masked"),
        (4, "BRIGHT BOW", "feedback+osc_key_sync", "masked"),
        (15, "JAZZ GUIT1", "feedback+osc_key_sync", "masked"),
        (20, "TIMPANI", "op2.eg_level3", "clamped"),
        (22, "STEEL DRUM", "op1.left_curve+right_curve", "masked"),
    }
    assert len(bank.report) == 5
    raw = ROM3A.read_bytes()
    for f in bank.report:
        assert raw[f.offset] == f.stored and str(f).startswith(str(ROM3A))
        assert f"voice {f.voice} " in str(f) and f.field in str(f)
    # byte 111 of voice 2 is 0x19: feedback 1, osc sync 1, and a stray bit 4 dropped
    assert (bank[1].feedback, bank[1].osc_key_sync) == (1, 1)
    assert bank[19].ops[1].eg_level3 == 99
    assert (bank[21].ops[0].left_curve, bank[21].ops[0].right_curve) == (3, 3)
    for v in bank:
        v.validate()


def test_rom3a_round_trip(tmp_path):
    first = load_bank(ROM3A)
    out = tmp_path / "rom3a.syx"
    first.save_sysex(out)
    again = load_bank(out)
    assert again == first and again.report == []
    for a, b in zip(first, again):
        assert a.to_dict() == b.to_dict()
    # Only the five repaired bytes (and the checksum) changed.
    before, after = ROM3A.read_bytes(), out.read_bytes()
    changed = {i for i in range(len(before)) if before[i] != after[i]}
    assert changed == {f.offset for f in first.report} | {len(before) - 2}


# ---------------------------------------------------------------------------------------------
# Files that are not DX7 banks
# ---------------------------------------------------------------------------------------------
def test_dx21_bank_refused_by_header_not_size(tmp_path):
    dx21 = frame(0x04, bytes(range(64)) * 64)
    assert len(dx21) == BANK_MESSAGE_SIZE  # same size as a DX7 bank
    path = tmp_path / "tx81z.syx"
    path.write_bytes(dx21)
    with pytest.raises(SysexError) as err:
        load_bank(path)
    assert str(err.value) == f"{path}: a DX21/TX81Z 32-voice bank (VMEM format 04), not a DX7 bank"


@pytest.mark.parametrize("data, expected", [
    (b"", "<bytes>: empty file"),
    (b"hello, not sysex", "<bytes>: not a SysEx file: it starts with 68 65 6C 6C"),
    (bytes([0xF0, 0x41, 0x10, 0x42, 0x12, 0x40, 0x00, 0x7F, 0x00, 0x41, 0xF7]),
     "<bytes>: a Roland SysEx message (ID 0x41), not a DX7 bank"),
    (bytes([0xF0, 0x43, 0x10, 0x01, 0x06, 0x10, 0xF7]),
     "<bytes>: a Yamaha parameter change message, not a DX7 bank"),
])
def test_foreign_input_refused(data, expected):
    with pytest.raises(SysexError) as err:
        load_bank(data)
    assert str(err.value).startswith(expected)


def test_midi_file_refused():
    midi = DATA / "midi" / "tiny-piano-cc64_music21-test14.mid"
    with pytest.raises(SysexError, match=r"Standard MIDI File"):
        load_bank(midi)


def test_truncated_bank(rom1a_bytes, tmp_path):
    path = tmp_path / "cut.syx"
    path.write_bytes(rom1a_bytes[:2000])
    for strict in (True, False):  # nothing loadable either way
        with pytest.raises(SysexError) as err:
            load_bank(path, strict=strict)
        msg = str(err.value)
        assert msg.startswith(f"{path}: truncated") and "4104" in msg and "2000" in msg
    with pytest.raises(SysexError, match="truncated"):
        load_bank(rom1a_bytes[:-2])  # checksum and F7 missing (only the F7 missing loads: test_bad_input)
    with pytest.raises(SysexError, match=r"has no F7 where its 4104 bytes end \(byte 4103 is 0x00\)"):
        load_bank(rom1a_bytes[:-1] + bytes(3))  # F7 replaced by padding
    with pytest.raises(SysexError, match="4103 bytes long"):
        load_bank(rom1a_bytes[:100] + rom1a_bytes[101:])  # one data byte lost in the middle
    header_cut = r"^<bytes>: truncated: .* at byte 0 ends after 3 byte\(s\), inside its header"
    with pytest.raises(SysexError, match=header_cut):
        load_bank(rom1a_bytes[:3])


def test_single_voice_and_bank_not_confused(rom1a, rom1a_bytes):
    with pytest.raises(SysexError, match="not a single voice; load it with load_bank"):
        load_patch_sysex(rom1a_bytes)
    with pytest.raises(SysexError, match="not a 32-voice bank; load it with load_patch_sysex"):
        load_bank(rom1a[0].to_sysex())


# ---------------------------------------------------------------------------------------------
# Bit 7 in data bytes
# ---------------------------------------------------------------------------------------------
def test_bit7_bytes_reported_and_masked(rom1a, rom1a_bytes):
    data = bytearray(rom1a_bytes)
    # Give voice 5 a lower-case name letter 0x77 and fix the checksum, then set bit 7 of it:
    # the byte becomes F7 (end-of-message) yet must stay inside the message.
    name_at = 6 + 4 * 128 + 118
    data[name_at] = 0x77
    data[-2] = (-sum(data[6:-2])) & 0x7F
    expected = load_bank(bytes(data))
    damaged = {name_at: 0xF7, 6 + 2 * 128 + 14: data[6 + 2 * 128 + 14] | 0x80,  # voice 3, OP6 level
               6 + 19 * 128 + 110: data[6 + 19 * 128 + 110] | 0x80}               # voice 20, algorithm
    for at, b in damaged.items():
        data[at] = b
    bank = load_bank(bytes(data))  # the 7-bit checksum still matches
    assert bank == expected and bank[4].name.startswith("w")
    bit7 = [(f.offset, f.voice, f.stored, f.used) for f in bank.report if f.kind == "bit7"]
    assert bit7 == sorted((at, (at - 6) // 128 + 1, b, b & 0x7F) for at, b in damaged.items())
    assert all(str(f).startswith("<bytes>: byte ") for f in bank.report)
    assert len(bank.report) == 3


# ---------------------------------------------------------------------------------------------
# Files with several messages
# ---------------------------------------------------------------------------------------------
def test_multi_message_file(rom1a, rom1a_bytes, tmp_path):
    rom3a = ROM3A.read_bytes()
    roland = bytes([0xF0, 0x41, 0x10, 0x42, 0x12, 0x40, 0x00, 0x7F, 0x00, 0x41, 0xF7])
    dx21 = frame(0x04, bytes(4096))
    amem = frame(0x06, bytes(1120))  # DX7II supplement that follows its VMEM in a DX7II dump
    voice = rom1a[10].to_sysex()
    parts = [roland, rom1a_bytes, amem, dx21, b"\x00\x00\x00", voice, rom3a]
    path = tmp_path / "mixed.syx"
    path.write_bytes(b"".join(parts))
    offsets = np.cumsum([0] + [len(p) for p in parts]).tolist()

    banks = load_banks(path)
    assert len(banks) == 2
    assert banks[0] == rom1a and banks[1] == load_bank(ROM3A)
    skipped = [f for f in banks[0].report if f.kind == "skipped"]
    assert [f.offset for f in skipped] == [offsets[0], offsets[2], offsets[3], offsets[4]]
    text = " | ".join(map(str, skipped))
    for what in ("Roland", "AMEM format 06", "DX21/TX81Z 32-voice bank", "3 byte(s) outside any SysEx message"):
        assert what in text
    assert any(f.kind == "unused" and "single voice" in str(f) for f in banks[0].report)
    assert sum(f.kind in ("clamped", "masked") for f in banks[1].report) == 5
    assert sum(f.kind in ("clamped", "masked") for f in banks[0].report) == 0

    first = load_bank(path)
    assert first == rom1a
    assert any(f.kind == "unused" and "1 more DX7 bank" in str(f) for f in first.report)

    contents = read_sysex(path)
    assert contents.voices == [rom1a[10]] and len(contents.banks) == 2
    assert [at for at, _ in contents.skipped] == [offsets[0], offsets[2], offsets[3], offsets[4]]
    report: list = []
    assert load_patch_sysex(path, report=report) == rom1a[10]
    assert any(f.kind == "unused" and "2 bank(s)" in str(f) for f in report)


def test_no_dx7_data_among_several_messages():
    roland = bytes([0xF0, 0x41, 0x10, 0x42, 0x12, 0x40, 0x00, 0x7F, 0x00, 0x41, 0xF7])
    with pytest.raises(SysexError) as err:
        load_bank(roland + frame(0x03, bytes(93)))
    msg = str(err.value)
    assert msg.startswith("<bytes>: no DX7 bank in this file; it holds a Roland")
    assert "DX21/DX27/DX100/TX81Z single voice (VCED format 03) at byte 11" in msg


def test_damaged_message_skipped_only_when_not_strict(rom1a, rom1a_bytes):
    data = rom1a_bytes + rom1a_bytes[:500]  # a good bank, then a cut-off copy
    with pytest.raises(SysexError, match="truncated"):
        load_banks(data)
    banks = load_banks(data, strict=False)
    assert banks == [rom1a]
    assert any(f.kind == "skipped" and "truncated" in str(f) and f.offset == 4104 for f in banks[0].report)


# ---------------------------------------------------------------------------------------------
# Single voices (VCED)
# ---------------------------------------------------------------------------------------------
def test_vced_single_voice_round_trip(rom1a, tmp_path):
    epiano = rom1a[10]
    msg = epiano.to_sysex()
    assert len(msg) == VOICE_MESSAGE_SIZE and msg[:6] == bytes([0xF0, 0x43, 0x00, 0x00, 0x01, 0x1B])
    assert msg[-1] == 0xF7 and (sum(msg[6:-1]) & 0x7F) == 0
    d = msg[6:-2]
    # VCED: 21 bytes per operator, OP6 first, then the voice parameters from 126.
    assert d[16] == epiano.op(6).output_level and d[5 * 21 + 16] == epiano.op(1).output_level
    assert d[5 * 21 + 20] == epiano.op(1).detune and d[134] == epiano.algorithm == 4
    assert d[135] == epiano.feedback and d[144] == epiano.transpose
    assert d[145:155].decode("ascii") == "E.PIANO 1 "
    path = tmp_path / "ep.syx"
    epiano.save_sysex(path)
    report: list = []
    assert load_patch_sysex(path, report=report) == epiano and report == []
    assert path.read_bytes() == msg


def test_vced_out_of_range_and_bad_checksum(rom1a):
    payload = bytearray(pack_vced(rom1a[0]))
    payload[20] = 15   # OP6 detune, legal 0..14
    payload[142] = 7   # LFO wave, legal 0..5
    report: list = []
    voice = load_patch_sysex(frame(0x00, bytes(payload)), report=report)
    assert {(f.field, f.stored, f.used) for f in report} == {("op6.detune", 15, 14), ("lfo_wave", 7, 5)}
    assert all(f.voice is None and f.voice_name == "BRASS   1" for f in report)
    assert voice.op(6).detune == 14 and voice.lfo_wave == 5
    bad = bytearray(rom1a[0].to_sysex())
    bad[-2] ^= 0x01
    with pytest.raises(SysexError, match=r"^<bytes>: checksum mismatch in the DX7 single voice"):
        load_patch_sysex(bytes(bad))
    assert load_patch_sysex(bytes(bad), strict=False) == rom1a[0]


# ---------------------------------------------------------------------------------------------
# Random voices: packing round trips and robustness
# ---------------------------------------------------------------------------------------------
def random_voice(rng: np.random.Generator) -> Dx7Voice:
    def pick(ranges):
        return {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in ranges.items()}

    name = "".join(chr(c) for c in rng.integers(32, 127, size=10))
    return Dx7Voice(ops=[Dx7Operator(**pick(OPERATOR_RANGES)) for _ in range(6)], name=name, **pick(VOICE_RANGES))


def test_random_voices_pack_unpack():
    rng = np.random.default_rng(7)
    for _ in range(200):
        v = random_voice(rng)
        assert unpack_vmem(pack_vmem(v)) == v
        assert unpack_vced(pack_vced(v)) == v
        assert Dx7Voice.from_dict(json.loads(json.dumps(v.to_dict()))) == v


def test_random_bank_round_trip(tmp_path):
    rng = np.random.default_rng(11)
    bank = Bank([random_voice(rng) for _ in range(32)])
    path = tmp_path / "random.syx"
    bank.save_sysex(path)
    again = load_bank(path)
    assert again == bank and again.report == []
    assert again.to_sysex() == path.read_bytes()


def test_arbitrary_bytes_never_crash_and_settle():
    rng = np.random.default_rng(3)
    for _ in range(5):
        payload = bytes(rng.integers(0, 128, size=4096, dtype=np.uint8))
        bank = load_bank(frame(0x09, payload))
        for f in bank.report:
            assert f.kind in ("clamped", "masked") and 1 <= f.voice <= 32 and f.field
            assert f.stored != f.used
        assert any(f.kind == "clamped" for f in bank.report)
        for v in bank:
            v.validate()
        again = load_bank(bank.to_sysex())
        assert again == bank and again.report == []


# ---------------------------------------------------------------------------------------------
# The voice model
# ---------------------------------------------------------------------------------------------
def test_dict_round_trip_and_validation(rom1a):
    doc = json.loads(json.dumps(rom1a.to_dict()))
    assert Bank.from_dict(doc) == rom1a
    d = rom1a[0].to_dict()
    assert d["ops"][0] == rom1a[0].op(1).to_dict() and d["algorithm"] == 21
    bad = json.loads(json.dumps(d))
    bad["ops"][2]["detune"] = 20
    with pytest.raises(ValueError, match=r"op3\.detune = 20 is outside 0\.\.14"):
        Dx7Voice.from_dict(bad)
    bad = json.loads(json.dumps(d))
    del bad["feedback"]
    bad["colour"] = 1
    with pytest.raises(ValueError, match="missing feedback; unknown colour"):
        Dx7Voice.from_dict(bad)
    bad = json.loads(json.dumps(d))
    bad["osc_key_sync"] = True
    with pytest.raises(ValueError, match="osc_key_sync must be an int"):
        Dx7Voice.from_dict(bad)
    short = dict(d, name="ABC")
    assert Dx7Voice.from_dict(short).name == "ABC       "


def test_voice_model_basics(rom1a):
    init = Dx7Voice()
    assert init.name == "INIT VOICE" and init.algorithm_number == 1
    assert [op.output_level for op in init.ops] == [99, 0, 0, 0, 0, 0]
    init.validate()
    v = rom1a[0].copy()
    assert v == rom1a[0] and v.ops[0] is not rom1a[0].ops[0]
    v.algorithm_number = 32
    assert v.algorithm == 31 and v != rom1a[0]
    with pytest.raises(ValueError):
        v.algorithm_number = 0
    v.op(2).freq_coarse = 32
    with pytest.raises(ValueError, match=r"op2\.freq_coarse = 32"):
        v.to_sysex()
    with pytest.raises(ValueError, match="exactly 6"):
        Dx7Voice(ops=[Dx7Operator()] * 5)
    with pytest.raises(ValueError, match="32 voices"):
        Bank([Dx7Voice()] * 31)
    with pytest.raises(TypeError):
        Bank()[0] = "not a voice"


def test_save_is_atomic(rom1a, rom1a_bytes, tmp_path, monkeypatch):
    path = tmp_path / "bank.syx"
    path.write_bytes(rom1a_bytes)
    edited = load_bank(path)
    edited[0] = Dx7Voice()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        edited.save_sysex(path)
    monkeypatch.undo()
    assert path.read_bytes() == rom1a_bytes and os.listdir(tmp_path) == ["bank.syx"]
    edited.save_sysex(path)
    assert load_bank(path)[0] == Dx7Voice() and os.listdir(tmp_path) == ["bank.syx"]
    with pytest.raises(SysexError, match="does not exist"):
        rom1a.save_sysex(tmp_path / "missing" / "x.syx")
