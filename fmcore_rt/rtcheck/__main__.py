"""``python -m fmcore_rt.rtcheck [--abort] -- <command ...>``

Runs the command with ``librtcheck`` preloaded (the command's own children
inherit it) and, when it exits, prints to stderr the violations made in
real-time sections by category and function, summed over every process that
loaded the checker. Exit status: the command's (128 + signal when it was
killed), or 1 when violations were found and the command succeeded.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile

from fmcore_rt.rtcheck import CATEGORIES, preload_env


def _parse_output(path: str) -> tuple[int, dict[str, int], dict[str, str]]:
    """(processes that reported, counts by function, category of each function) from the library's file."""
    procs: set[str] = set()
    counts: dict[str, int] = {}
    cats: dict[str, str] = {}
    with open(path, encoding="ascii", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "L" and len(parts) == 2:
                procs.add(parts[1])
            elif parts[0] == "V" and len(parts) == 5 and parts[4].isdigit():
                _, _, fn, cat, n = parts
                counts[fn] = counts.get(fn, 0) + int(n)
                cats[fn] = cat
    return len(procs), counts, cats


def format_report(nprocs: int, counts: dict[str, int], cats: dict[str, str]) -> str:
    """The text printed at the command's exit."""
    total = sum(counts.values())
    who = f"{nprocs} process{'es' if nprocs != 1 else ''}"
    if total == 0:
        return f"rtcheck: no violations in real-time sections ({who} checked)"
    lines = [f"rtcheck: {total} violation(s) in real-time sections ({who} checked)"]
    for cat in CATEGORIES + tuple(sorted(set(cats.values()) - set(CATEGORIES))):
        fns = sorted((fn for fn in counts if cats[fn] == cat), key=lambda fn: -counts[fn])
        if not fns:
            continue
        lines.append(f"  {cat:<24}{sum(counts[fn] for fn in fns):>10}")
        lines.extend(f"    {fn:<22}{counts[fn]:>10}" for fn in fns)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fmcore_rt.rtcheck",
        description="Run a command with the real-time safety checker preloaded and report the "
                    "allocations, locks, sleeps, I/O and syscalls made inside real-time sections.")
    parser.add_argument("--abort", action="store_true",
                        help="abort the command at the first violation, printing the function and a backtrace")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command [args ...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (usage: python -m fmcore_rt.rtcheck [--abort] -- command ...)")
    try:
        env = preload_env(abort=args.abort)
    except (FileNotFoundError, ValueError) as e:
        print(f"rtcheck: {e}", file=sys.stderr)
        return 2
    fd, out_path = tempfile.mkstemp(prefix="rtcheck-", suffix=".txt")
    os.close(fd)
    env["FMCORE_RTCHECK_OUTPUT"] = out_path
    try:
        try:
            proc = subprocess.Popen(command, env=env)
        except OSError as e:
            print(f"rtcheck: cannot run {command[0]!r}: {e.strerror or e}", file=sys.stderr)
            return 127
        while True:
            try:
                rc = proc.wait()
                break
            except KeyboardInterrupt:
                proc.send_signal(signal.SIGINT)  # let the command exit and report
        nprocs, counts, cats = _parse_output(out_path)
    finally:
        os.unlink(out_path)
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        print(f"rtcheck: the command was killed by {name}", file=sys.stderr)
    if nprocs == 0:
        if rc >= 0:
            print("rtcheck: no report: the command did not run its exit handlers under the checker "
                  "(os._exit, or a static binary)", file=sys.stderr)
    else:
        print(format_report(nprocs, counts, cats), file=sys.stderr)
    if rc != 0:
        return 128 - rc if rc < 0 else rc
    return 1 if counts else 0


if __name__ == "__main__":
    sys.exit(main())
