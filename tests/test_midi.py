"""MIDI file reader: real files against mido, exact timing, damaged and unusual files, the demo song."""
from __future__ import annotations

import importlib.util
import random
from fractions import Fraction
from pathlib import Path

import mido
import numpy as np
import pytest

from fmcore.errors import FmcoreError
from fmcore.midi import EVENT_FIELDS, MidiFileError, format_info, parse_midi, read_midi, song_info

ROOT = Path(__file__).resolve().parents[1]
MIDI = ROOT.parent / "shared" / "data" / "midi"
DEMO = ROOT / "fmcore" / "data" / "demo.mid"
GOOD = sorted(p for p in MIDI.glob("*.mid") if not p.name.startswith("broken-"))
# Files mido 1.3 reads too: the reference for every channel message.
MIDO_READABLE = [p for p in GOOD if not p.name.startswith(("odd-unknown-chunk", "illegal-"))] + [DEMO]
C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


# ---- SMF bytes built by hand (independent of the reader under test) ----------------------

def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def chunk(kind: bytes, body: bytes) -> bytes:
    return kind + len(body).to_bytes(4, "big") + body


def smf(tracks: list[bytes], fmt: int = 1, division: int = 96, ntracks: int | None = None,
        extra: bytes = b"") -> bytes:
    header = chunk(b"MThd", fmt.to_bytes(2, "big") + (len(tracks) if ntracks is None else ntracks).to_bytes(2, "big")
                   + division.to_bytes(2, "big"))
    return header + extra + b"".join(chunk(b"MTrk", t) for t in tracks)


def tempo(us: int, delta: int = 0) -> bytes:
    return vlq(delta) + b"\xff\x51\x03" + us.to_bytes(3, "big")


EOT = b"\x00\xff\x2f\x00"


def rows(song) -> list[tuple[int, int, int, int, int]]:
    """(tick, track, status, data1, data2) of every channel event, in the reader's order."""
    ev = song.events(48000)
    return list(zip(song.event_ticks.tolist(), ev["track"].tolist(), ev["status"].tolist(),
                    ev["data1"].tolist(), ev["data2"].tolist()))


def round_half_up(x: Fraction) -> int:
    return (2 * x.numerator + x.denominator) // (2 * x.denominator)


# ---- real files against mido ------------------------------------------------------------

def mido_rows(path: Path) -> list[tuple[int, int, int, int, int]]:
    out = []
    for i, track in enumerate(mido.MidiFile(path).tracks):
        tick = 0
        for pos, msg in enumerate(track):
            tick += msg.time
            if not msg.is_meta and msg.type != "sysex":
                b = msg.bytes() + [0]
                out.append((tick, i, pos, b[0], b[1], b[2]))
    out.sort(key=lambda r: (r[0], r[1], r[2]))
    return [(t, i, s, d1, d2) for t, i, _, s, d1, d2 in out]


@pytest.mark.parametrize("path", MIDO_READABLE, ids=lambda p: p.name)
def test_channel_messages_equal_midos(path):
    song = read_midi(path)
    assert rows(song) == mido_rows(path)
    assert song.events(48000).dtype == np.dtype(EVENT_FIELDS)


@pytest.mark.parametrize("path", MIDO_READABLE, ids=lambda p: p.name)
@pytest.mark.parametrize("rate", [44100, 48000])
def test_sample_times_equal_exact_tempo_walk_over_midos_merge(path, rate):
    mf = mido.MidiFile(path)
    us_per_beat, now, expected = 500_000, Fraction(0), []
    for msg in mido.merge_tracks(mf.tracks):
        now += Fraction(msg.time * us_per_beat, 1_000_000 * mf.ticks_per_beat)
        if msg.type == "set_tempo":
            us_per_beat = msg.tempo
        elif not msg.is_meta and msg.type != "sysex":
            expected.append(round_half_up(now * rate))
    song = read_midi(path)
    assert song.events(rate)["sample"].tolist() == expected
    assert song.duration_seconds == pytest.approx(mf.length, abs=1e-6)
    assert song.seconds_at(song.end_tick) == float(now)  # the last merged message is the final End-of-Track


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_files_load_sorted_with_all_kinds(path):
    song = read_midi(path)
    ev = song.events(44100)
    assert len(ev) > 0 and np.all(np.diff(ev["sample"]) >= 0)
    assert song.duration_seconds > 0
    assert set(np.unique(ev["status"] & 0xF0)) <= {0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0}
    assert len(song.track_names) >= 1 and song.tempo_map[0][0] == 0
    notes = song.notes(44100)
    on = ev[((ev["status"] & 0xF0) == 0x90) & (ev["data2"] > 0)]
    assert sum(len(v) for v in notes.values()) == len(on)
    for ch, samples in notes.items():
        assert samples.tolist() == on["sample"][(on["status"] & 0x0F) == ch].tolist()


def test_real_file_facts_from_sources():
    e1m1 = read_midi(MIDI / "gm-multitrack-drums_freedoom-e1m1.mid")
    info = song_info(e1m1)
    assert (info["format"], info["tracks"]) == (1, 17)
    assert sum(info["notes_per_channel"].values()) == 4792
    assert 9 in info["notes_per_channel"] and info["first_tempo_bpm"] == pytest.approx(165, abs=0.01)
    ev = e1m1.events(48000)
    assert np.count_nonzero((ev["status"] & 0xF0) == 0xC0) == 75
    map26 = read_midi(MIDI / "pitchbend-modwheel_freedoom-map26.mid").events(48000)
    kinds = map26["status"] & 0xF0
    assert np.count_nonzero((kinds == 0x90) & (map26["data2"] > 0)) == 5464
    assert np.count_nonzero((kinds == 0xB0) & (map26["data1"] == 1)) == 177
    assert np.count_nonzero(kinds == 0xE0) == 252
    dm24 = read_midi(MIDI / "type0_freedoom-dm24.mid")
    assert dm24.format == 0 and len(dm24.channels_used) == 9
    assert np.count_nonzero((dm24.events(48000)["status"] & 0xF0) == 0xE0) == 4110
    assert song_info(read_midi(MIDI / "dense-polyphony_freedoom-e3m8.mid"))["max_polyphony"] == 23


# ---- unusual but legal (or tolerated) real files -------------------------------------------

@pytest.mark.parametrize("name, warned", [
    ("odd-running-status-across-meta_jazzsoft.mid", "running status resumed after a meta"),
    ("illegal-running-status-after-sysex_jazzsoft.mid", "running status resumed after a sysex"),
    ("odd-unknown-chunk_jazzsoft-non-midi-track.mid", "unknown chunk 'Junk'"),
])
def test_odd_files_play_their_c_major_scale(name, warned):
    song = read_midi(MIDI / name)
    ev = song.events(48000)
    on = ev[((ev["status"] & 0xF0) == 0x90) & (ev["data2"] > 0)]
    assert on["data1"].tolist() == C_MAJOR
    assert len(song.warnings) == 1 and warned in song.warnings[0]


# ---- damaged real files -------------------------------------------------------------------

def test_broken_missing_byte():
    path = MIDI / "broken-missing-byte_jazzsoft.mid"
    with pytest.raises(MidiFileError) as err:
        read_midi(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: truncated in track 0 at byte 267") and "meta event 0x2F" in msg
    assert (err.value.track, err.value.offset) == (0, 267)
    song = read_midi(path, lenient=True)
    ev = song.events(48000)
    assert ev["data1"][(ev["status"] & 0xF0) == 0x90].tolist() == C_MAJOR
    assert len(ev) == 16 and any("skipped" in w for w in song.warnings)


def test_broken_truncated_many_tracks():
    path = MIDI / "broken-truncated_midly-PiDamaged.mid"
    with pytest.raises(MidiFileError) as err:
        read_midi(path)
    assert str(err.value).startswith(f"{path}: truncated in track 2 at byte 65536: expected")
    song = read_midi(path, lenient=True)
    assert len(song.track_names) == 3 and len(song.events(48000)) > 10000
    assert any("declares 30 tracks, the file has 3" in w for w in song.warnings)
    assert any("track 2" in w and "skipped" in w for w in song.warnings)


def test_missing_empty_and_foreign_files(tmp_path):
    missing = tmp_path / "nope.mid"
    with pytest.raises(MidiFileError) as err:
        read_midi(missing)
    assert str(err.value) == f"{missing}: no such file"
    assert isinstance(err.value, FmcoreError) and isinstance(err.value, ValueError)
    text = tmp_path / "notes.mid"
    text.write_text("just some text, long enough to look like a header\n")
    with pytest.raises(MidiFileError, match=r"notes\.mid: missing MThd header"):
        read_midi(text)
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(MidiFileError, match="empty file"):
        read_midi(empty)
    with pytest.raises(MidiFileError, match="is a directory"):
        read_midi(tmp_path)


# ---- synthetic fixtures ---------------------------------------------------------------------

def test_running_status_and_same_tick_order_across_tracks():
    t0 = tempo(400_000) + b"\x00\x90\x3c\x64" + b"\x00\x3e\x00" + b"\x60\xb0\x07\x50" + b"\x00\x0a\x20" + EOT
    t1 = b"\x00\x91\x40\x70" + b"\x60\xc1\x05" + b"\x00\x20" + b"\x00\xe1\x00\x40" + b"\x10\xd1\x33" + EOT
    song = parse_midi(smf([t0, t1]), name="rs.mid")
    assert rows(song) == [
        (0, 0, 0x90, 0x3C, 0x64), (0, 0, 0x90, 0x3E, 0x00),            # velocity-0 note-on kept as is
        (0, 1, 0x91, 0x40, 0x70),
        (96, 0, 0xB0, 0x07, 0x50), (96, 0, 0xB0, 0x0A, 0x20),
        (96, 1, 0xC1, 0x05, 0), (96, 1, 0xC1, 0x20, 0), (96, 1, 0xE1, 0x00, 0x40),
        (112, 1, 0xD1, 0x33, 0)]
    assert song.warnings == [] and song.channels_used == [0, 1]
    assert song.tempo_map == [(0, 400_000)]
    assert song.sample_at(96, 48000) == 19200                      # 96 ticks at 0.4 s per beat
    assert {c: s.tolist() for c, s in song.notes(48000).items()} == {0: [0], 1: [0]}


def test_running_status_after_meta_is_resumed_with_a_warning():
    track = b"\x00\x90\x3c\x64" + b"\x00\xff\x01\x02hi" + b"\x10\x3c\x00" + EOT
    song = parse_midi(smf([track]), name="m.mid")
    assert rows(song) == [(0, 0, 0x90, 0x3C, 0x64), (16, 0, 0x90, 0x3C, 0x00)]
    assert len(song.warnings) == 1 and "running status resumed after a meta event" in song.warnings[0]


def test_running_status_with_no_prior_status_names_track_and_byte():
    data = smf([tempo(500_000) + EOT, b"\x00\xff\x03\x01A" + b"\x00\x3c\x64" + EOT])
    with pytest.raises(MidiFileError) as err:
        parse_midi(data, name="x.mid")
    offset = 14 + 8 + 11 + 8 + 5     # header, track 0 chunk, track 1 chunk header, its name event
    assert str(err.value) == (f"x.mid: track 1 at byte {offset + 1}: running status with no prior status byte "
                              f"(data byte 0x3C)")
    song = parse_midi(data, name="x.mid", lenient=True)
    assert song.track_names == ["", "A"] and len(song.events(48000)) == 0 and "skipped" in song.warnings[0]


def test_missing_data_byte_mid_track():
    # The second note-on lost its velocity: the next status byte arrives where a data byte belongs.
    track = b"\x00\x90\x3c\x64" + b"\x00\x90\x3e" + b"\x90\x40\x64" + EOT
    with pytest.raises(MidiFileError) as err:
        parse_midi(smf([track]), name="y.mid")
    assert str(err.value) == ("y.mid: track 0 at byte 29: expected a data byte of note-on, found status byte 0x90 "
                              "(a byte is missing)")
    song = parse_midi(smf([track]), name="y.mid", lenient=True)
    assert rows(song) == [(0, 0, 0x90, 0x3C, 0x64)] and "skipped the last 10 bytes of the track (from byte 26)" in song.warnings[0]


def test_unknown_chunk_is_skipped():
    track = tempo(600_000) + b"\x00\x90\x3c\x64\x60\x80\x3c\x40" + EOT
    plain = parse_midi(smf([track]))
    odd = parse_midi(smf([track], extra=chunk(b"XFIH", b"\x01\x02\x03")))
    assert rows(odd) == rows(plain) and len(rows(plain)) == 2
    assert odd.warnings == ["skipped an unknown chunk 'XFIH' of 3 bytes at byte 14"]


def small_file() -> bytes:
    t0 = b"\x00\xff\x03\x04Song" + tempo(500_000) + tempo(250_000, delta=0x60) + EOT
    t1 = (b"\x00\xc0\x05\x00\x90\x3c\x64\x30\x40\x50\x30\x3c\x00\x00\xf0\x03\x7e\x01\xf7"
          b"\x00\xb0\x40\x7f\x81\x00\xe0\x00\x50\x00\x90\x40\x00" + EOT)
    return smf([t0, t1])


def test_truncation_at_every_byte_always_gives_midifileerror():
    data = small_file()
    full = set(rows(parse_midi(data)))
    assert len(full) == 7
    kept = []
    for n in range(len(data)):
        with pytest.raises(MidiFileError) as err:
            parse_midi(data[:n], name="cut.mid")
        assert str(err.value).startswith("cut.mid: ")
        try:
            song = parse_midi(data[:n], name="cut.mid", lenient=True)
        except MidiFileError:
            assert n < 14, f"lenient mode refused a file with an intact header (cut at {n})"
            continue
        got = rows(song)
        assert set(got) <= full and song.warnings
        kept.append(len(got))
    assert kept == sorted(kept) and kept[-1] == len(full)


def test_random_corruption_never_raises_anything_else():
    rng = random.Random(4)
    sources = [small_file(), (MIDI / "tiny-piano-cc64_music21-test14.mid").read_bytes()]
    for trial in range(600):
        data = bytearray(sources[trial % 2])
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        for lenient in (False, True):
            try:
                song = parse_midi(bytes(data), lenient=lenient)
                song.events(44100), song_info(song)
            except MidiFileError:
                pass


def test_smpte_division_is_exact_and_ignores_tempo():
    track = tempo(300_000) + vlq(1000) + b"\x90\x3c\x64" + vlq(1000) + b"\x80\x3c\x40" + EOT
    song = parse_midi(smf([track], division=((256 - 25) << 8) | 40))     # 25 fps x 40 = 1000 ticks/s
    assert song.smpte == (25, 40) and song.ticks_per_beat is None
    assert song.events(48000)["sample"].tolist() == [48000, 96000]
    drop = parse_midi(smf([vlq(2997) + b"\x90\x3c\x64" + EOT], division=((256 - 29) << 8) | 100))
    assert drop.time_at(2997) == Fraction(2997 * 1001, 30000 * 100)
    assert drop.sample_at(2997, 48000) == round_half_up(Fraction(2997 * 1001 * 48000, 3_000_000))
    assert "SMPTE 29.97 fps" in format_info(song_info(drop), "d.mid")


def test_format_2_tracks_play_one_after_another():
    a = b"\x00\x90\x3c\x64\x60\x80\x3c\x40" + EOT
    b = b"\x00\x90\x3e\x64\x30\x80\x3e\x40" + EOT
    song = parse_midi(smf([a, b], fmt=2))
    assert [(t, d1) for t, _, _, d1, _ in rows(song)] == [(0, 0x3C), (96, 0x3C), (96, 0x3E), (144, 0x3E)]
    assert song.end_tick == 144


def test_rounding_is_to_nearest_with_ties_up():
    song = parse_midi(smf([b"\x01\x90\x3c\x64\x02\x80\x3c\x40" + EOT], division=1))    # 0.5 s per tick
    assert song.events(1)["sample"].tolist() == [1, 2]          # 0.5 -> 1, 1.5 -> 2
    assert [song.sample_at(t, 3) for t in range(5)] == [0, 2, 3, 5, 6]
    assert song.seconds_at(3) == 1.5 and song.duration_seconds == 1.5


def test_one_hour_with_a_tempo_change_every_beat_does_not_drift():
    # A tick is 101 (slow) or 87 (fast) half-samples at 44.1 kHz: every other event time is an
    # exact tie, so any rounding error (float accumulation, drift) changes a sample.
    tpb, slow, fast, rate = 441, 505_000, 435_000, 44100
    beats = 7700                                    # about an hour at the mean of the two tempi
    body = bytearray()
    for k in range(beats):
        body += tempo(slow if k % 2 == 0 else fast)
        body += vlq(37) + b"\x90\x3c\x64" + vlq(tpb - 37) + b"\x80\x3c\x40"
    song = parse_midi(smf([bytes(body) + EOT], division=tpb))
    assert 3500 < song.duration_seconds < 3700 and len(song.tempo_map) == beats

    def beat_start_us(k: int) -> int:               # closed form: pairs of one slow and one fast beat
        return (k // 2) * (slow + fast) + (k % 2) * slow

    expected = []
    for k in range(beats):
        on = Fraction(beat_start_us(k)) + Fraction(37 * (slow if k % 2 == 0 else fast), tpb)
        expected += [round_half_up(on * rate / 1_000_000), round_half_up(Fraction(beat_start_us(k + 1)) * rate / 1_000_000)]
    assert song.events(rate)["sample"].tolist() == expected
    assert song.time_at(beats * tpb) == Fraction(beat_start_us(beats), 1_000_000)


def test_huge_times_fall_back_to_exact_python_integers():
    # 4 x 2**28-1 ticks at the slowest tempo: numerator x rate is beyond int64.
    big = vlq(2**28 - 1)
    track = b"\x00\xff\x51\x03\xff\xff\xff" + (big + b"\x90\x3c\x64") * 4 + EOT
    song = parse_midi(smf([track], division=1))
    expected = [round_half_up(Fraction(k * (2**28 - 1) * 0xFFFFFF * 96000, 1_000_000)) for k in (1, 2, 3, 4)]
    assert expected[-1] > 2**63 // 96000
    assert song.events(96000)["sample"].tolist() == expected


# ---- info ---------------------------------------------------------------------------------

def test_info_of_a_real_file():
    info = song_info(read_midi(MIDI / "tiny-piano-cc64_music21-test14.mid"))
    assert info["format"] == 1 and info["tracks"] == 2 and info["ticks_per_beat"] == 256
    assert info["duration_seconds"] == pytest.approx(6.6, abs=0.01)
    assert 64 in info["cc_used"] and info["tempo_changes"] == 0
    text = format_info(info, "t.mid")
    assert text.splitlines()[0] == "t.mid" and "6.602 s" in text and "256 ticks per beat" in text


# ---- the demo song ------------------------------------------------------------------------

def load_tool():
    spec = importlib.util.spec_from_file_location("make_demo_song", ROOT / "tools" / "make_demo_song.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_song_is_the_committed_file_and_uses_every_part():
    assert DEMO.read_bytes() == load_tool().demo_song_bytes()
    song = read_midi(DEMO)
    assert song.warnings == [] and song.format == 1
    assert song.channels_used == [0, 1, 2, 3, 4, 9]
    assert 20 <= song.duration_seconds <= 30
    bpms = [60_000_000 / t for _, t in song.tempo_map]
    assert len(bpms) == 2 and all(100 <= b <= 120 for b in bpms)
    info = song_info(song)
    gm = [4, 33, 81, 14, 89]   # General MIDI: E.Piano 1, Finger Bass, Saw Lead, Tubular Bells, Warm Pad
    assert {c: info["programs_per_channel"][c] for c in range(5)} == {c: [gm[c]] for c in range(5)}
    assert 64 in info["cc_per_channel"][0] and 1 in info["cc_per_channel"][2]
    assert {7, 10} <= set(info["cc_per_channel"][3])
    ev = song.events(48000)
    assert np.any(ev["status"] == 0xE2)
    drums = ev[(ev["status"] == 0x99) & (ev["data2"] > 0)]
    assert set(drums["data1"].tolist()) == {36, 38, 42, 46, 49}
    for ch in range(5):
        assert len(song.notes(48000)[ch]) > 0


def test_riff_wrapped_file_and_bytes_after_the_last_track():
    data = small_file()
    riff_body = b"RMID" + b"data" + len(data).to_bytes(4, "little") + data
    wrapped = parse_midi(b"RIFF" + len(riff_body).to_bytes(4, "little") + riff_body)
    assert rows(wrapped) == rows(parse_midi(data)) and wrapped.track_names == ["Song", ""]
    assert parse_midi(data + b"\x00\x00\x00").warnings == ["ignored 3 bytes of zero padding at the end of the file"]
    with pytest.raises(MidiFileError, match=rf"g\.mid: expected a chunk header at byte {len(data)} \(after track 1\)"):
        parse_midi(data + b"\x01\x02garbage!", name="g.mid")
    assert rows(parse_midi(data + b"\x01\x02garbage!", lenient=True)) == rows(parse_midi(data))
