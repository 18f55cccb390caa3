"""Subcommands of the ``fmcore`` command line. Each handler imports what it
needs when it runs, so ``fmcore --help`` stays fast and an optional part
(live audio) missing does not break the others."""
from __future__ import annotations

import argparse
import sys

from fmcore.cliargs import float_range, int_range, nonneg_float, positive_int

# the ranges the engine and the writers accept (fmcore.render.RATE_RANGE, MAX_BLOCK, MAX_VOICES)
_rate = int_range(8000, 384000, "a sample rate in Hz")
_block = int_range(1, 8192, "a block size in frames")
_voices = int_range(1, 256, "a voice count")


def register(sub) -> None:
    p = sub.add_parser("render", help="render a MIDI file (default: the built-in demo song) to an audio file")
    p.add_argument("midi", nargs="?", help="MIDI file (omit for the built-in demo song)")
    p.add_argument("-o", "--output", help="output file: .wav, .flac, .aiff, .w64, .rf64, .ogg, .opus or .mp3 "
                                          "(by suffix, where the installed libsndfile has it; default: <midi name>.wav)")
    p.add_argument("--patch", help="bank.syx[:N] (voice N: 1-32, 33-64 in a file with two banks), patch.json, "
                                   "or a built-in patch name")
    p.add_argument("--ignore-checksum", action="store_true", help="load SysEx banks with a wrong checksum")
    p.add_argument("--rate", type=_rate, default=48000, help="sample rate in Hz, 8000-384000 (default 48000)")
    p.add_argument("--bits", choices=["16", "24", "32", "32f"], default=None,
                   help="sample format of .wav/.flac/.aiff (default 24; compressed formats have none)")
    p.add_argument("--block", type=_block, default=256, help="block size in frames, 1-8192 (default 256)")
    p.add_argument("--tail", type=nonneg_float, default=2.0, help="seconds rendered after the last event")
    p.add_argument("--max-duration", type=nonneg_float, default=10800.0, metavar="SECONDS",
                   help="refuse renders longer than this (default 10800 = 3 h; a damaged file can ask for days)")
    p.add_argument("--voices", type=_voices, default=64, help="polyphony, 1-256 (default 64)")
    p.add_argument("--normalize", action="store_true", help="scale the result to a -1 dBFS peak")
    p.add_argument("--limit", action=argparse.BooleanOptionalAction, default=True,
                   help="output limiter, peaks never above -1 dBFS (default on; --no-limit turns it off)")
    p.add_argument("--lenient", action="store_true", help="render what can be read of a damaged MIDI file")
    p.add_argument("--stems", metavar="DIR", help="also write one file per part that plays (ch01.wav ...) and "
                   "per effect return (reverb.wav, chorus.wav) into DIR; they sum to the mix")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from fmcore.ext_commands import add_options as _ext_options

    _ext_options(p)                       # --fx, --scale, --kbm, --mpe
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("validate", help="run the synth through a stress workload under the real-time checker")
    p.add_argument("--block", type=_block, default=64, help="block size in frames, 1-8192 (default 64)")
    p.add_argument("--voices", type=_voices, default=16, help="polyphony, 1-256 (default 16)")
    p.add_argument("--seconds", type=float_range(0, 3600, "seconds"), default=30.0,
                   help="seconds of audio, at most 3600 (default 30)")
    p.add_argument("--rate", type=_rate, default=48000, help="sample rate, 8000-384000 (default 48000)")
    p.add_argument("--seed", type=int, default=1, help="workload seed (default 1)")
    p.add_argument("--no-preload", action="store_true",
                   help="do not re-run under the checker (timing only: the result is never PASS)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("batch", help="render a JSON Lines manifest of jobs on every core or on Ray",
                       description="Render a JSON Lines manifest. Exit status: 0 all jobs done or skipped, "
                                   "1 some jobs failed, 2 the manifest has unreadable lines (the others ran).")
    p.add_argument("manifest", help="JSON Lines: one job per line (see fmcore.batch)")
    p.add_argument("--workers", type=positive_int, default=None, help="parallel workers (default: cores)")
    p.add_argument("--backend", choices=["threads", "ray"], default="threads",
                   help="threads: worker threads on this machine (default); ray: Ray tasks (the ray extra)")
    p.add_argument("--ray-address", default=None,
                   help="address of an existing Ray cluster (auto: the one `ray start` runs here); "
                        "default: a local Ray for this batch")
    p.add_argument("--out-dir", default=None, help="directory for relative outputs (default: the manifest's)")
    p.add_argument("--results", default=None, help="results file (default: <out-dir>/results.jsonl)")
    p.add_argument("--metadata", action="store_true", help="write each job's patch vector into the results")
    p.add_argument("--no-resume", action="store_true", help="render jobs whose output already exists")
    p.add_argument("--max-duration", type=nonneg_float, default=10800.0, metavar="SECONDS",
                   help="fail jobs longer than this (default 10800 = 3 h)")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("bank", help="DX7 SysEx banks")
    bank_sub = p.add_subparsers(dest="bank_command", metavar="ACTION")
    bank_sub.required = True
    q = bank_sub.add_parser("list", help="the voice names of a DX7 bank with their algorithms")
    q.add_argument("bank", help="a DX7 32-voice bulk dump (.syx; a DX7II file with two banks lists 64)")
    q.add_argument("--ignore-checksum", action="store_true", help="load a bank whose checksum is wrong")
    q.set_defaults(func=cmd_bank_list)

    p = sub.add_parser("info", help="describe a MIDI file: tracks, channels, programs, tempo, polyphony")
    p.add_argument("midi", help="a Standard MIDI File (.mid)")
    p.add_argument("--lenient", action="store_true", help="describe what can be read of a damaged MIDI file")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("patches", help="the built-in patches, and which plays each General MIDI program and drum key")
    p.set_defaults(func=cmd_patches)


def cmd_validate(args) -> int:
    import os
    import subprocess

    from fmcore_rt import rtcheck

    if not rtcheck.available() and not args.no_preload:
        # re-run this command with the checker preloaded, so violations are counted
        try:
            env = rtcheck.preload_env(dict(os.environ))
        except (FileNotFoundError, ValueError) as e:
            print(f"fmcore: error: cannot load the real-time checker: {e}", file=sys.stderr)
            return 2
        return subprocess.call([sys.executable, "-m", "fmcore.cli", *sys.argv[1:]], env=env)
    from fmcore.validation import validate_synth

    report = validate_synth(args.rate, args.block, args.voices, args.seconds, args.seed)
    print(report.table())
    return 0 if report.ok else 1


def cmd_batch(args) -> int:
    from pathlib import Path

    from fmcore.batch import read_manifest, render_jobs

    jobs, bad = read_manifest(args.manifest, args.out_dir)
    for _, err in bad:
        print(f"fmcore: error: {err}", file=sys.stderr)
    summary = render_jobs(jobs, workers=args.workers, backend=args.backend,
                          out_dir=args.out_dir or str(Path(args.manifest).resolve().parent),
                          results=args.results, metadata=args.metadata, progress=sys.stderr.isatty(),
                          ray_address=args.ray_address, resume=not args.no_resume, invalid=bad,
                          max_duration=args.max_duration)
    for r in summary.records:
        if r["status"] == "failed":
            print(f"fmcore: job {r['id']} failed: {r['error']}", file=sys.stderr)
    print(summary.line())
    print(f"results: {summary.results_path}")
    # 2: the manifest itself is bad input (the readable jobs still ran); 1: some jobs failed
    return 2 if bad else 1 if summary.failed else 0


def cmd_bank_list(args) -> int:
    from fmcore.dx7 import load_banks

    banks = load_banks(args.bank, strict=not args.ignore_checksum)
    if len(banks) == 1:
        print(f"{args.bank}: 32 voices")
    else:
        print(f"{args.bank}: {32 * len(banks)} voices in {len(banks)} banks (voice 33 is voice 1 of bank 2)")
    seen = set()
    for b, bank in enumerate(banks):
        if len(banks) > 1:
            print(f"  bank {b + 1}")
        for number, name, algorithm in bank.rows():
            print(f"  {number + 32 * b:2d}  {name:<10}  algorithm {algorithm:2d}")
        for finding in bank.report:
            if str(finding) not in seen:       # notes about the file are in every bank's report
                seen.add(str(finding))
                print(f"fmcore: warning: {finding}", file=sys.stderr)
    return 0


def cmd_render(args) -> int:
    from fmcore.ext_commands import extension_kwargs
    from fmcore.render import demo_song_path, render_midi_to_file
    from fmcore.audiofile import BITS_TO_SUBTYPE
    from pathlib import Path

    midi = Path(args.midi) if args.midi else demo_song_path()
    out = Path(args.output) if args.output else Path(midi.stem + ".wav")
    show = not args.no_progress and sys.stderr.isatty()
    report = render_midi_to_file(
        midi, out, sample_rate=args.rate, subtype=BITS_TO_SUBTYPE[args.bits] if args.bits else None,
        patches=args.patch, tail=args.tail, block=args.block, max_voices=args.voices, normalize=args.normalize,
        lenient=args.lenient, strict_sysex=not args.ignore_checksum, progress=show, limit=args.limit,
        max_duration=args.max_duration, stems=args.stems, **extension_kwargs(args))
    for w in report.warnings:
        print(f"fmcore: warning: {w}", file=sys.stderr)
    print(f"{out}: {report.summary()}")
    if args.stems:
        scaled = f", scaled {report.stems_gain_db:+.1f} dB" if abs(report.stems_gain_db) > 0.05 else ""
        print(f"{args.stems}: {len(report.stems)} stems ({', '.join(Path(p).stem for p in report.stems)}){scaled}")
    return 0


def cmd_info(args) -> int:
    from fmcore.midi.reader import read_midi
    from fmcore.midi.info import format_info, song_info

    song = read_midi(args.midi, lenient=args.lenient)
    print(format_info(song_info(song), title=str(args.midi)))
    for w in getattr(song, "warnings", []):
        print(f"fmcore: warning: {args.midi}: {w}", file=sys.stderr)
    return 0


def cmd_patches(args) -> int:
    from fmcore.gm import format_patches

    print(format_patches())
    return 0
