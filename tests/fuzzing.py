"""A seeded, bounded fuzzer for everything fmcore reads: MIDI files, DX7 SysEx, patch JSON, batch
manifests, the Python API and the command line (issue 14, "Done means").

Each case is generated from ``(seed, class, index)`` alone, so any failure is reproduced by
``python tests/fuzzing.py --class midi --seed 1 --case 123``. Cases run in child processes, a
chunk at a time: a crash (a signal) or a hang (a per-case watchdog) is caught, named by its case,
and the rest of the run goes on. A case fails when it raises anything but the documented error
of the input it was given (``FmcoreError``/``SysexError``, or ``ValueError``/``TypeError``/
``KeyError`` from the API), when audio comes out non-finite, or, for the command line, when
the exit status is not 0/1/2, a traceback appears, or an output is half-written.

    python tests/fuzzing.py --scale 20            # the long run (``make fuzz``)
    python tests/fuzzing.py --class sysex -n 500  # one class
"""
from __future__ import annotations

import argparse
import faulthandler
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CLASSES = ("midi", "sysex", "patch", "manifest", "api", "cli")
#: cases per class in one unit of --scale (the bounded test suite runs scale 1)
BASE_CASES = {"midi": 300, "sysex": 300, "patch": 300, "manifest": 60, "api": 300, "cli": 16}
CHUNK = {"midi": 300, "sysex": 300, "patch": 300, "manifest": 60, "api": 100, "cli": 16}
#: seconds one case may take before it counts as a hang
CASE_TIMEOUT = float(os.environ.get("FMCORE_FUZZ_CASE_TIMEOUT", "60"))


def rng_for(seed: int, cls: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, (CLASSES + ("selftest",)).index(cls), index])


# ---- mutations -------------------------------------------------------------------------------------

def mutate_bytes(rng, data: bytes, hot: bytes = b"") -> bytes:
    """A few random edits: flips, inserted/deleted runs, truncation, interesting bytes."""
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 6))):
        op = int(rng.integers(0, 7))
        at = int(rng.integers(0, len(b) + 1)) if b else 0
        if op == 0 and b:
            b[min(at, len(b) - 1)] ^= 1 << int(rng.integers(0, 8))
        elif op == 1 and b:
            b[min(at, len(b) - 1)] = int(rng.choice(list(hot or b"\x00\x7f\x80\xff\xf0\xf7")))
        elif op == 2:
            b[at:at] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
        elif op == 3 and b:
            del b[at:at + int(rng.integers(1, 64))]
        elif op == 4 and b:
            b = b[:int(rng.integers(0, len(b) + 1))]
        elif op == 5 and b:
            n = int(rng.integers(1, 32))
            b[at:at] = b[max(0, at - n):at] * int(rng.integers(1, 4))
        elif op == 6 and hot:
            b[at:at] = hot
    return bytes(b)


# ---- MIDI ------------------------------------------------------------------------------------------

def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def random_smf(rng) -> bytes:
    import struct

    ntracks = int(rng.integers(1, 4))
    division = int(rng.choice([96, 480, 1, 0x7FFF, 0xE728, 0xE250, 0]))
    out = b"MThd" + struct.pack(">IHHH", 6, int(rng.integers(0, 3)), ntracks, division)
    for _ in range(ntracks):
        t = bytearray()
        for _ in range(int(rng.integers(0, 60))):
            delta = int(rng.choice([0, 1, 10, 96, 480, int(rng.integers(0, 2 ** 28))], p=[.3, .2, .2, .15, .1, .05]))
            t += _vlq(delta)
            kind = int(rng.integers(0, 10))
            if kind < 6:
                status = int(rng.choice([0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0])) | int(rng.integers(0, 16))
                t += bytes([status, int(rng.integers(0, 128))])
                if status & 0xF0 not in (0xC0, 0xD0):
                    t += bytes([int(rng.integers(0, 128))])
            elif kind == 6:
                tempo = int(rng.choice([0, 1, 500000, 0xFFFFFF]))
                t += b"\xff\x51\x03" + tempo.to_bytes(3, "big")
            elif kind == 7:
                body = rng.integers(0, 128, int(rng.integers(0, 20)), dtype=np.uint8).tobytes()
                t += b"\xf0" + _vlq(len(body) + 1) + body + b"\xf7"
            elif kind == 8:
                t += bytes([int(rng.integers(0, 128)), int(rng.integers(0, 128))])   # running status
            else:
                t += b"\xff" + bytes([int(rng.integers(0, 128))]) + _vlq(int(rng.integers(0, 8))) + b"abcdefg"[
                    :int(rng.integers(0, 8))]
        if rng.random() < 0.8:
            t += b"\x00\xff\x2f\x00"
        out += b"MTrk" + struct.pack(">I", len(t) if rng.random() < 0.9 else int(rng.integers(0, 2 ** 32))) + t
    return out


_MIDI_CORPUS: list[bytes] = []


def midi_corpus() -> list[bytes]:
    if not _MIDI_CORPUS:
        files = sorted((DATA / "midi").glob("*.mid")) + [ROOT / "fmcore" / "data" / "demo.mid"]
        _MIDI_CORPUS.extend(p.read_bytes() for p in files)
    return _MIDI_CORPUS


def gen_midi(rng) -> bytes:
    r = rng.random()
    if r < 0.35:
        return random_smf(rng)
    base = midi_corpus()[int(rng.integers(0, len(midi_corpus())))]
    if r < 0.5 and len(base) > 200000:
        base = base[:200000]
    hot = [b"\xff\xff\xff\x7f", b"\x00\xff\x51\x03\x00\x00\x00", b"\xff\x2f\x00", b"MTrk\xff\xff\xff\xff",
           b"\xf0\xff\xff\xff\x7f", b"\x90", b"\x00\x00\x00\x06"][int(rng.integers(0, 7))]
    return mutate_bytes(rng, base, hot)


def case_midi(rng, work: Path) -> str:
    from fmcore.errors import FmcoreError
    from fmcore.midi import parse_midi
    from fmcore.midi.info import format_info, song_info
    from fmcore.render import render_midi

    data = gen_midi(rng)
    lenient = bool(rng.random() < 0.5)
    try:
        song = parse_midi(data, name="fuzz.mid", lenient=lenient)
    except FmcoreError:
        return "refused"
    format_info(song_info(song), title="fuzz.mid")
    song.events(48000)
    if rng.random() < 0.25:
        path = work / "fuzz.mid"
        path.write_bytes(data)
        try:
            audio = render_midi(path, sample_rate=8000, tail=0.1, max_voices=16, lenient=lenient, max_duration=20.0,
                                limit=bool(rng.random() < 0.5))
        except FmcoreError:
            return "parsed, render refused"
        check_finite(audio)
        return "rendered"
    return "parsed"


def check_finite(audio) -> None:
    if not np.isfinite(audio).all():
        raise AssertionError("non-finite audio")


# ---- SysEx ------------------------------------------------------------------------------------------

_SYX: list[bytes] = []


def syx_corpus() -> list[bytes]:
    if not _SYX:
        from fmcore.dx7.sysex import bank_to_sysex, voice_to_sysex
        from fmcore.dx7.voice import Dx7Voice

        files = sorted((DATA / "syx").glob("*.syx"))
        _SYX.extend(p.read_bytes() for p in files)
        _SYX.append(_SYX[0] + _SYX[-1])                       # two banks (a DX7II dump)
        _SYX.append(voice_to_sysex(Dx7Voice()))
        _SYX.append(bank_to_sysex([Dx7Voice()] * 32, channel=3))
    return _SYX


def gen_sysex(rng) -> bytes:
    corpus = syx_corpus()
    base = corpus[int(rng.integers(0, len(corpus)))]
    r = rng.random()
    if r < 0.1:
        return rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
    if r < 0.25:
        # only data bytes changed: the message stays whole, values go out of range
        b = bytearray(base)
        for _ in range(int(rng.integers(1, 40))):
            i = int(rng.integers(6, max(7, len(b) - 2)))
            b[i] = int(rng.integers(0, 256))
        return bytes(b)
    if r < 0.35:
        return base[:-1]                                      # the final F7 missing
    hot = [b"\xf7", b"\xf0", b"\xf0\x43\x00\x09\x20\x00", b"\xf0\x43\x00\x00\x01\x1b", b"\x7f\x7f"][
        int(rng.integers(0, 5))]
    return mutate_bytes(rng, base, hot)


def case_sysex(rng, work: Path) -> str:
    from fmcore.dx7.model import voice_to_patch
    from fmcore.dx7.sysex import SysexError, read_sysex
    from fmcore.errors import FmcoreError

    data = gen_sysex(rng)
    strict = bool(rng.random() < 0.5)
    try:
        contents = read_sysex(data, strict=strict)
    except SysexError:
        return "refused"
    voices = [v for b in contents.banks for v in b] + list(contents.voices)
    if not voices:
        return "no voices"
    for i in rng.choice(len(voices), size=min(3, len(voices)), replace=False):
        voice_to_patch(voices[int(i)]).validate()
    if rng.random() < 0.3:
        path = work / "fuzz.syx"
        path.write_bytes(data)
        from fmcore.patchref import resolve_patch

        n = int(rng.integers(0, 70))
        warnings: list = []
        try:
            patch = resolve_patch(f"{path}:{n}", strict_sysex=strict, warnings=warnings)
        except (FmcoreError, SysexError):
            return "loaded, reference refused"
        render_patch(patch)
        return "rendered"
    return "loaded"


def render_patch(patch, rate=8000) -> None:
    from fmcore import Synth

    s = Synth(rate, max_voices=4, max_block=256)
    s.set_patch(patch)
    s.settle()
    check_finite(s.render([(0.0, 0x90, 60, 100), (0.03, 0x80, 60, 0)], duration=0.05))


# ---- patch JSON ---------------------------------------------------------------------------------------

_PATCHES: list[dict] = []


def patch_corpus() -> list[dict]:
    if not _PATCHES:
        from fmcore.dx7 import load_bank
        from fmcore.dx7.model import voice_to_patch
        from fmcore.presets import builtin_bank

        _PATCHES.extend(p.to_dict() for p in builtin_bank())
        _PATCHES.extend(voice_to_patch(v).to_dict() for v in list(load_bank(DATA / "syx" / "dx7-rom1a_eurorack.syx"))[:8])
    return _PATCHES


_ODD = [None, True, False, "x", "", -1, 0, 1, 0.5, -0.0, 1e308, -1e308, 2 ** 63, -(2 ** 63), 13, 4096, [], {},
        [1], [1, 2, 3, 4], {"a": 1}]


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, path + (i,))
    yield path


def _set(obj, path, value):
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


def _get(obj, path):
    for k in path:
        obj = obj[k]
    return obj


def gen_patch_text(rng) -> bytes:
    d = json.loads(json.dumps(patch_corpus()[int(rng.integers(0, len(patch_corpus())))]))
    texts = {}
    for _ in range(int(rng.integers(0 if rng.random() < 0.2 else 1, 5))):
        paths = [p for p in _leaves(d) if p]
        if not paths:
            break
        path = paths[int(rng.integers(0, len(paths)))]
        op = int(rng.integers(0, 8))
        try:
            if op == 0:
                _set(d, path, _ODD[int(rng.integers(0, len(_ODD)))])
            elif op == 1:
                parent = _get(d, path[:-1])
                if isinstance(parent, dict):
                    del parent[path[-1]]
                elif isinstance(parent, list) and parent:
                    parent.pop(path[-1])
            elif op == 2:
                key = f"__T{len(texts)}__"
                texts[key] = ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400, "-1" + "0" * 30][
                    int(rng.integers(0, 6))]
                _set(d, path, key)
            elif op == 3:                      # duplicate edges, far past the plan's capacity
                key = ["edges", "feedback", "carriers"][int(rng.integers(0, 3))]
                items = list(d.get(key) or [[2, 1, 1.0]])
                dup = list(items[0]) if isinstance(items[0], list) else items[0]
                if isinstance(dup, list) and dup and rng.random() < 0.5:
                    dup[-1] = float(rng.choice([0.0, 0.001, 0.01]))     # merged, they stay in range
                d[key] = items + [dup] * int(rng.choice([2, 150, 457, 3000]))
            elif op == 4:
                d["operators"] = (d.get("operators") or [{}]) * int(rng.integers(0, 4))
            elif op == 5:
                d[str(rng.choice(["edges", "carriers", "feedback"]))] = [
                    [float(rng.choice([-1e9, -1, 0, 1, 6, 12, 13, 1.5])) for _ in range(int(rng.integers(0, 5)))]
                    for _ in range(int(rng.integers(0, 6)))]
            elif op == 6:
                _set(d, path, float(rng.normal() * 10 ** rng.integers(0, 12)))
            else:
                d["unknown_" + str(int(rng.integers(0, 9)))] = 1
        except (KeyError, IndexError, TypeError):
            pass
    text = json.dumps(d)
    for k, v in texts.items():
        text = text.replace(f'"{k}"', v)
    raw = text.encode()
    r = rng.random()
    if r < 0.05:
        depth = int(rng.choice([500, 1000, 100000]))
        raw = b"[" * depth + b"]" * depth
    elif r < 0.1:
        raw = raw.replace(b'"', b'"\xff', 1)
    elif r < 0.15:
        raw = mutate_bytes(rng, raw)
    return raw


def case_patch(rng, work: Path) -> str:
    from fmcore.patch import Patch, PatchError

    path = work / "fuzz.json"
    path.write_bytes(gen_patch_text(rng))
    try:
        patch = Patch.load(path)
    except PatchError:
        return "refused"
    render_patch(patch)
    return "rendered"


# ---- manifests -----------------------------------------------------------------------------------------

def gen_manifest(rng, work: Path) -> bytes:
    tiny = work / "tiny.mid"
    if not tiny.exists():
        tiny.write_bytes(random_short_song())
    patches = [None, "E.Piano", "Brass", "No Such Patch", f"{DATA / 'syx' / 'dx7-rom1a_eurorack.syx'}:11",
               f"{DATA / 'syx' / 'dx7-rom1a_eurorack.syx'}:99", "missing.syx:3", "p.json",
               f"{DATA / 'syx' / 'dx7-rom1a-bad-checksum_msfa.syx'}:1"]
    outputs = ["a.wav", "b.flac", "c.ogg", "d.mp3", "e.opus", "f.aiff", "g.txt", "sub/h.wav", "", "/dev/null/x.wav",
               "i.wav\u0000", "\u00e9.wav"]
    lines = []
    for i in range(int(rng.integers(1, 8))):
        job: dict = {"id": f"j{i}", "output": outputs[int(rng.integers(0, len(outputs)))] if rng.random() < 0.4
                     else f"o{i}.wav"}
        if rng.random() < 0.7:
            job.update(note=int(rng.integers(0, 128)), hold=float(rng.choice([0, 0.05, 0.2, 3.0])),
                       release=float(rng.choice([0, 0.05, 0.2])), velocity=int(rng.integers(1, 128)))
        else:
            job.update(midi=str(rng.choice([str(tiny), "missing.mid", str(DATA / "midi" / "broken-missing-byte_jazzsoft.mid")])),
                       tail=float(rng.choice([0, 0.1, 1e9])))
        p = patches[int(rng.integers(0, len(patches)))] if rng.random() < 0.6 else None
        if p:
            job["patch"] = p
        if rng.random() < 0.3:
            job["sample_rate"] = int(rng.choice([8000, 44100, 96000, 384000, 7999]))
        if rng.random() < 0.2:
            job["params"] = {str(rng.choice(["master.gain", "fx.reverb.mix", "nope"])): float(rng.choice([0.5, -5, 1e30]))}
        if rng.random() < 0.1:
            job["limit"] = bool(rng.random() < 0.5)
        text = json.dumps(job)
        r = rng.random()
        if r < 0.1:
            text = text.replace(str(job.get("note", "x")), str(rng.choice(["NaN", "Infinity", "1e400", "1" + "0" * 50])), 1)
        elif r < 0.15:
            text = "[" * 5000 + "]" * 5000
        elif r < 0.2:
            text = text[:int(rng.integers(0, len(text)))]
        elif r < 0.25:
            text = "# a comment"
        lines.append(text.encode())
    raw = b"\n".join(lines) + b"\n"
    if rng.random() < 0.1:
        raw = mutate_bytes(rng, raw)
    return raw


def random_short_song() -> bytes:
    import struct

    t = b"\x00\x90\x3c\x64\x30\x80\x3c\x00\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"MTrk" + struct.pack(">I", len(t)) + t


def case_manifest(rng, work: Path) -> str:
    from fmcore.batch import read_manifest, render_jobs

    (work / "p.json").write_bytes(gen_patch_text(rng))
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    m = work / "m.jsonl"
    m.write_bytes(gen_manifest(rng, work))
    jobs, bad = read_manifest(m, out)
    summary = render_jobs(jobs, workers=1, out_dir=out, results=out / "results.jsonl", max_duration=2.0,
                          invalid=bad, metadata=bool(rng.random() < 0.3))
    for rec in summary.records:
        err = rec.get("error", "")
        if "\n" in err or "Traceback" in err or "[Errno" in err:
            raise AssertionError(f"raw error text in a result: {err!r}")
    for line in (out / "results.jsonl").read_text().splitlines():
        json.loads(line)
    left = [str(p) for p in out.rglob("*") if ".part" in p.name]
    if left:
        raise AssertionError(f"temporary files left: {left}")
    return f"{summary.done} done, {summary.failed} failed, {summary.invalid} invalid"


# ---- the Python API ------------------------------------------------------------------------------------

def _odd_number(rng):
    return [0, -1, 1, 127, 128, 255, 256, -129, 2 ** 31, 2 ** 63, -(2 ** 63), 10 ** 30, 0.5, float("nan"),
            float("inf"), -float("inf"), 1e300, "3", None, True][int(rng.integers(0, 20))]


API_ERRORS = (ValueError, TypeError, KeyError, OverflowError)


def case_api(rng, work: Path) -> str:
    import fmcore
    from fmcore import Patch, Synth

    if rng.random() < 0.1:
        try:
            s = Synth(_odd_number(rng), max_voices=_odd_number(rng), max_block=_odd_number(rng))
        except API_ERRORS + (MemoryError,):
            return "construct refused"
        return "constructed"
    s = Synth(8000, max_voices=int(rng.choice([1, 4, 16])), max_block=int(rng.choice([16, 64, 256])))
    done = 0
    for _ in range(int(rng.integers(1, 12))):
        op = int(rng.integers(0, 12))
        try:
            if op == 0:
                s.send(_odd_number(rng), _odd_number(rng), _odd_number(rng), at=_odd_number(rng) if rng.random() < 0.3 else None)
            elif op == 1:
                getattr(s, str(rng.choice(["note_on", "note_off", "control_change", "program_change"])))(
                    _odd_number(rng), _odd_number(rng) if rng.random() < 0.7 else 100, channel=_odd_number(rng)
                    if rng.random() < 0.3 else 0)
            elif op == 2:
                s.pitch_bend(_odd_number(rng), channel=_odd_number(rng) if rng.random() < 0.3 else 0)
            elif op == 3:
                n = int(rng.choice([0, 1, 5, 300, 5000]))
                ev = rng.integers(-2 ** 40, 2 ** 40, (int(rng.integers(0, 20)), 4)) if rng.random() < 0.5 else \
                    np.column_stack([rng.integers(-5, n + 5, 10), rng.integers(0, 256, 10), rng.integers(-3, 300, 10),
                                     rng.integers(-3, 300, 10)])
                shape = [(2, n), (1, n), (3, n), (2,), (0, n), (2, n, 1)][int(rng.integers(0, 6))]
                dtype = [np.float32, np.float64, np.int16][int(rng.choice(3, p=[.8, .1, .1]))]
                out = np.zeros(shape, dtype)
                if rng.random() < 0.1:
                    out = np.zeros((n, 2), np.float32).T
                s.process(out, ev if rng.random() < 0.8 else [tuple(x) for x in ev.tolist()])
                if out.dtype == np.float32:
                    check_finite(out)
            elif op == 4:
                names = s.params.names()
                name = names[int(rng.integers(0, len(names)))] if rng.random() < 0.8 else "no.such"
                s.params[name] = _odd_number(rng)
            elif op == 5:
                p = Patch.from_graph(fmcore.algorithm(int(rng.integers(1, 33))))
                attr = str(rng.choice(["edges", "carriers", "feedback", "operators", "lfo", "gain_db", "name"]))
                if rng.random() < 0.7:
                    setattr(p, attr, [[_odd_number(rng) for _ in range(int(rng.integers(0, 4)))]
                                      for _ in range(int(rng.integers(0, 200)))] if rng.random() < 0.5
                            else _odd_number(rng))
                s.set_patch(p if rng.random() < 0.9 else _odd_number(rng), channel=_odd_number(rng)
                            if rng.random() < 0.2 else 0)
            elif op == 6:
                s.set_bank([Patch()] * int(rng.choice([0, 1, 128, 129])) if rng.random() < 0.7 else
                           [_odd_number(rng)])
            elif op == 7:
                s.set_kit({_odd_number(rng): Patch() for _ in range(3)} if rng.random() < 0.5 else
                          {i: Patch(name=str(i)) for i in range(int(rng.choice([1, 16, 17])))},
                          channel=_odd_number(rng) if rng.random() < 0.3 else 9)
            elif op == 8:
                t = _odd_number(rng)
                dur = float(rng.choice([0.0, 0.01, 0.1, -1.0, float("nan")]))
                check_finite(s.render([(t if isinstance(t, (int, float)) and not isinstance(t, bool)
                                        and abs(t) < 1 else 0.0, 0x90, 60, 100)], duration=dur))
            elif op == 9:
                s.fx.set_enabled(str(rng.choice(["reverb", "limiter", "delay", "nope"])), bool(rng.random() < 0.5))
            elif op == 10:
                s.all_notes_off(_odd_number(rng) if rng.random() < 0.5 else None)
                s.all_sound_off(None)
            else:
                s.reset()
                s.settle()
            done += 1
        except API_ERRORS:
            pass
    out = np.zeros((2, 512), np.float32)
    s.process(out)
    check_finite(out)
    return "ops"


# ---- the command line ----------------------------------------------------------------------------------

def case_cli(rng, work: Path) -> str:
    kind = int(rng.integers(0, 5))
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    if kind == 0:
        f = work / "f.mid"
        f.write_bytes(gen_midi(rng))
        args = ["render", f, "-o", out / str(rng.choice(["x.wav", "x.flac", "x.ogg", "x.mp3"])), "--rate", "8000",
                "--tail", "0.1", "--max-duration", "20", "--no-progress"] + (["--lenient"] if rng.random() < .5 else [])
    elif kind == 1:
        f = work / "f.mid"
        f.write_bytes(gen_midi(rng))
        args = ["info", f] + (["--lenient"] if rng.random() < .5 else [])
    elif kind == 2:
        f = work / "f.syx"
        f.write_bytes(gen_sysex(rng))
        args = (["bank", "list", f] if rng.random() < 0.5 else
                ["render", str(random_short_midi(work)), "-o", out / "x.wav", "--rate", "8000", "--patch",
                 f"{f}:{int(rng.integers(0, 70))}"])
        if rng.random() < 0.5:
            args.append("--ignore-checksum")
    elif kind == 3:
        f = work / "f.json"
        f.write_bytes(gen_patch_text(rng))
        args = ["render", str(random_short_midi(work)), "-o", out / "x.wav", "--rate", "8000", "--patch", f]
    else:
        f = out / "m.jsonl"
        f.write_bytes(gen_manifest(rng, work))
        args = ["batch", f, "--workers", "1", "--max-duration", "2"]
    r = subprocess.run([sys.executable, "-m", "fmcore.cli", *map(str, args)], capture_output=True, timeout=120,
                       cwd=work)
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode not in ((0, 1, 2) if args[0] == "batch" else (0, 2)):
        raise AssertionError(f"exit status {r.returncode}: {err[-1500:]}")
    if "Traceback" in err:
        raise AssertionError(f"traceback: {err[-3000:]}")
    for line in err.splitlines():
        if line and not line.startswith(("fmcore: ", "usage: ", "fmcore ")) and not line.startswith(" "):
            raise AssertionError(f"stray stderr line {line!r}")
    left = [p.name for p in out.rglob("*") if ".part" in p.name]
    if left:
        raise AssertionError(f"temporary files left: {left}")
    if r.returncode == 2 and args[0] == "render" and any(out.iterdir()):
        raise AssertionError(f"an output was written although the command failed: {list(out.iterdir())}")
    return f"exit {r.returncode}"


def random_short_midi(work: Path) -> Path:
    p = work / "short.mid"
    if not p.exists():
        p.write_bytes(random_short_song())
    return p


def case_selftest(rng, work: Path) -> str:
    """The harness's own check: case 3 crashes the process, case 5 hangs, case 7 raises."""
    i = int(work.joinpath("n").read_text()) if work.joinpath("n").exists() else 0
    work.joinpath("n").write_text(str(i + 1))
    index = int(os.environ["FMCORE_FUZZ_SELFTEST_BASE"]) + i
    if index == 3:
        os.abort()
    if index == 5:
        time.sleep(3600)
    if index == 7:
        raise RuntimeError("an unexpected error")
    return "ok"


CASES = {"midi": case_midi, "sysex": case_sysex, "patch": case_patch, "manifest": case_manifest, "api": case_api,
         "cli": case_cli, "selftest": case_selftest}


# ---- running ---------------------------------------------------------------------------------------------

def run_child(cls: str, seed: int, first: int, count: int, progress: Path) -> None:
    """Run cases [first, first + count) in this process, one JSON line per case into ``progress``:
    {"start": i} before it and {"case": i, "outcome"|"failure": ...} after, so a crash names its case."""
    with tempfile.TemporaryDirectory(prefix=f"fmcore-fuzz-{cls}-") as tmp, open(progress, "a") as log:
        work = Path(tmp)
        os.environ["FMCORE_FUZZ_SELFTEST_BASE"] = str(first)
        for i in range(first, first + count):
            log.write(json.dumps({"start": i}) + "\n")
            log.flush()
            faulthandler.dump_traceback_later(CASE_TIMEOUT, exit=True)
            try:
                rec = {"case": i, "outcome": CASES[cls](rng_for(seed, cls, i), work)}
            except Exception as e:   # anything but the documented errors is a finding
                rec = {"case": i, "failure": {"case": i, "error": f"{type(e).__name__}: {e}"[:500],
                                              "traceback": traceback.format_exc()[-3000:]}}
            finally:
                faulthandler.cancel_dump_traceback_later()
            log.write(json.dumps(rec) + "\n")
            log.flush()


def fuzz(cls: str, seed: int, n: int, chunk: int | None = None, timeout: float | None = None) -> dict:
    """Run ``n`` cases of ``cls`` in child processes; returns counts, outcomes and every crash, hang or failure."""
    chunk = chunk or CHUNK.get(cls, 100)
    total = {"class": cls, "seed": seed, "cases": 0, "crashes": [], "hangs": [], "failures": [], "outcomes": {},
             "seconds": 0.0}
    t0 = time.monotonic()
    first = 0
    while first < n:
        count = min(chunk, n - first)
        with tempfile.NamedTemporaryFile(prefix="fmcore-fuzz-progress-", delete=False) as f:
            progress = Path(f.name)
        try:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", cls, "--seed", str(seed), "--first",
                   str(first), "-n", str(count), "--progress", str(progress)]
            timed_out = False
            try:
                r = subprocess.run(cmd, capture_output=True, text=True,
                                   timeout=timeout or (CASE_TIMEOUT * 2 + 5 * count + 60))
            except subprocess.TimeoutExpired as e:
                timed_out, r = True, e
            started, finished = None, first - 1
            for line in progress.read_text().splitlines():
                rec = json.loads(line)
                if "start" in rec:
                    started = rec["start"]
                    continue
                finished = rec["case"]
                total["cases"] += 1
                if "failure" in rec:
                    total["failures"].append(rec["failure"])
                else:
                    key = rec["outcome"].split(",")[0] if cls == "manifest" else rec["outcome"]
                    total["outcomes"][key] = total["outcomes"].get(key, 0) + 1
            if finished == first + count - 1 and not timed_out and r.returncode == 0:
                first += count
                continue
            # the child died in (or hung on) the case it started last
            case = started if started is not None and started > finished else finished + 1
            stderr = (r.stderr or "") if isinstance(r.stderr, str) else (r.stderr or b"").decode("utf-8", "replace")
            hang = timed_out or ("Timeout (" in stderr and "most recent call first" in stderr)
            (total["hangs"] if hang else total["crashes"]).append(
                {"case": case, "returncode": None if timed_out else r.returncode, "stderr": stderr[-3000:]})
            total["cases"] += 1
            first = case + 1
        finally:
            progress.unlink(missing_ok=True)
    total["seconds"] = round(time.monotonic() - t0, 1)
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--class", dest="cls", choices=CLASSES, action="append", help="class(es) to run (default: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0, help="cases per class = scale x the suite's count")
    ap.add_argument("-n", type=int, default=None, help="cases (per class)")
    ap.add_argument("--case", type=int, default=None, help="run one case in this process and show what it does")
    ap.add_argument("--child", choices=list(CASES), help=argparse.SUPPRESS)
    ap.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--progress", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        run_child(a.child, a.seed, a.first, a.n, a.progress)
        return 0
    classes = a.cls or list(CLASSES)
    if a.case is not None:
        for cls in classes:
            with tempfile.TemporaryDirectory() as tmp:
                print(cls, a.case, CASES[cls](rng_for(a.seed, cls, a.case), Path(tmp)))
        return 0
    bad = 0
    grand = 0
    for cls in classes:
        n = a.n if a.n is not None else max(1, round(BASE_CASES[cls] * a.scale))
        res = fuzz(cls, a.seed, n)
        grand += res["cases"]
        found = len(res["crashes"]) + len(res["hangs"]) + len(res["failures"])
        bad += found
        print(f"{cls:9s} {res['cases']:6d} cases in {res['seconds']:7.1f} s: {len(res['crashes'])} crashes, "
              f"{len(res['hangs'])} hangs, {len(res['failures'])} failures  {json.dumps(res['outcomes'], sort_keys=True)}",
              flush=True)
        for kind in ("crashes", "hangs", "failures"):
            for f in res[kind][:5]:
                print(f"  {kind[:-1] if kind != 'crashes' else 'crash'} at case {f['case']} "
                      f"(python tests/fuzzing.py --class {cls} --seed {a.seed} --case {f['case']}):\n    "
                      + (f.get("error") or f.get("stderr", ""))[-1500:].replace("\n", "\n    "), flush=True)
    print(f"total: {grand} cases, seed {a.seed}, {bad} findings")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
