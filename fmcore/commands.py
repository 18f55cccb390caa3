"""Subcommands of the ``fmcore`` command line. Each handler imports what it
needs when it runs, so ``fmcore --help`` stays fast and an optional part
(live audio) missing does not break the others."""
from __future__ import annotations

import sys

from fmcore.cliargs import nonneg_float, positive_int




def register(sub) -> None:
    p = sub.add_parser("render", help="render a MIDI file (default: the built-in demo song) to WAV/FLAC")
    p.add_argument("midi", nargs="?", help="MIDI file (omit for the built-in demo song)")
    p.add_argument("-o", "--output", help="output .wav or .flac (default: <midi name>.wav)")
    p.add_argument("--patch", help="bank.syx[:N] (voice N, 1-32), patch.json, or a built-in patch name")
    p.add_argument("--ignore-checksum", action="store_true", help="load SysEx banks with a wrong checksum")
    p.add_argument("--rate", type=positive_int, default=48000, help="sample rate in Hz (default 48000)")
    p.add_argument("--bits", choices=["16", "24", "32", "32f"], default="24", help="sample format (default 24)")
    p.add_argument("--block", type=positive_int, default=256, help="block size in frames (default 256)")
    p.add_argument("--tail", type=nonneg_float, default=2.0, help="seconds rendered after the last event")
    p.add_argument("--voices", type=positive_int, default=64, help="polyphony (default 64)")
    p.add_argument("--normalize", action="store_true", help="scale the result to a -1 dBFS peak")
    p.add_argument("--limit", action="store_true", help="output limiter: peaks never above -1 dBFS")
    p.add_argument("--lenient", action="store_true", help="render what can be read of a damaged MIDI file")
    p.add_argument("--stems", metavar="DIR", help="also write one file per part that plays (ch01.wav ...) and "
                   "per effect return (reverb.wav, chorus.wav) into DIR; they sum to the mix")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from fmcore.ext_commands import add_options as _ext_options

    _ext_options(p)                       # --fx, --scale, --kbm, --mpe
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("validate", help="run the synth through a stress workload under the real-time checker")
    p.add_argument("--block", type=positive_int, default=64, help="block size in frames (default 64)")
    p.add_argument("--voices", type=positive_int, default=16, help="polyphony (default 16)")
    p.add_argument("--seconds", type=nonneg_float, default=30.0, help="seconds of audio (default 30)")
    p.add_argument("--rate", type=positive_int, default=48000, help="sample rate (default 48000)")
    p.add_argument("--seed", type=int, default=1, help="workload seed (default 1)")
    p.add_argument("--no-preload", action="store_true", help="do not re-run under the checker (timing only)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("batch", help="render a JSON Lines manifest of jobs on every core or on Ray")
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
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("bank", help="DX7 SysEx banks")
    bank_sub = p.add_subparsers(dest="bank_command", metavar="ACTION")
    bank_sub.required = True
    q = bank_sub.add_parser("list", help="the 32 voice names of a DX7 bank with their algorithms")
    q.add_argument("bank", help="a 32-voice DX7 bulk dump (.syx)")
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
        env = rtcheck.preload_env(dict(os.environ))
        return subprocess.call([sys.executable, "-m", "fmcore.cli", *sys.argv[1:]], env=env)
    from fmcore.validation import validate_synth

    report = validate_synth(args.rate, args.block, args.voices, args.seconds, args.seed)
    print(report.table())
    return 0 if report.ok else 1


def cmd_batch(args) -> int:
    from fmcore.batch import read_manifest, render_jobs

    jobs, bad = read_manifest(args.manifest, args.out_dir)
    for _, err in bad:
        print(f"fmcore: error: {err}", file=sys.stderr)
    summary = render_jobs(jobs, workers=args.workers, backend=args.backend, out_dir=args.out_dir or
                          str(__import__("pathlib").Path(args.manifest).resolve().parent),
                          results=args.results, metadata=args.metadata, progress=sys.stderr.isatty(),
                          ray_address=args.ray_address, resume=not args.no_resume)
    for r in summary.records:
        if r["status"] == "failed":
            print(f"fmcore: job {r['id']} failed: {r['error']}", file=sys.stderr)
    failed = summary.failed + len(bad)
    print(summary.line() + (f" ({len(bad)} unreadable manifest lines)" if bad else ""))
    print(f"results: {summary.results_path}")
    return 1 if failed else 0


def cmd_bank_list(args) -> int:
    from fmcore.dx7 import load_bank

    bank = load_bank(args.bank, strict=not args.ignore_checksum)
    print(f"{args.bank}: 32 voices")
    for number, name, algorithm in bank.rows():
        print(f"  {number:2d}  {name:<10}  algorithm {algorithm:2d}")
    for finding in getattr(bank, "report", None) or []:
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
        midi, out, sample_rate=args.rate, subtype=BITS_TO_SUBTYPE[args.bits], patches=args.patch,
        tail=args.tail, block=args.block, max_voices=args.voices, normalize=args.normalize,
        lenient=args.lenient, strict_sysex=not args.ignore_checksum, progress=show, limit=args.limit,
        stems=args.stems, **extension_kwargs(args))
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
