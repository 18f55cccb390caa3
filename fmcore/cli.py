"""The ``fmcore`` command line.

Every command reports bad input as one line on stderr,
``fmcore: error: <file>: <what is wrong>``, exits with status 2, and writes
nothing. ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import sys

from fmcore import interrupts
from fmcore.errors import FmcoreError
from fmcore.interrupts import Terminated

# Errors that are the user's input, not our bug: reported as one line.
_USER_ERRORS: tuple[type[BaseException], ...] = (FmcoreError, FileNotFoundError, IsADirectoryError,
                                                  PermissionError)


def _user_error_types() -> tuple[type[BaseException], ...]:
    types = list(_USER_ERRORS)
    for mod, name in (("fmcore.midi.reader", "MidiFileError"), ("fmcore.dx7.sysex", "SysexError"),
                      ("fmcore.audiofile", "AudioFileError"), ("fmcore.patch", "PatchError"),
                      ("fmcore_rt.streams", "AudioDeviceError")):
        try:
            module = __import__(mod, fromlist=[name])
            types.append(getattr(module, name))
        except (ImportError, AttributeError):
            pass
    return tuple(types)


def _describe(err: BaseException) -> str:
    if isinstance(err, (FileNotFoundError, IsADirectoryError, PermissionError)) and err.filename:
        reason = {FileNotFoundError: "no such file", IsADirectoryError: "is a directory",
                  PermissionError: "permission denied"}.get(type(err), err.strerror)
        return f"{err.filename}: {reason}"
    from fmcore.errors import describe_error

    return describe_error(err)


def build_parser() -> argparse.ArgumentParser:
    from fmcore import __version__, commands

    parser = argparse.ArgumentParser(prog="fmcore", description="A real-time-safe FM synthesizer.")
    parser.add_argument("--version", action="version", version=f"fmcore {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    commands.register(sub)
    from fmcore import live_commands

    live_commands.register(sub)
    from fmcore import ext_commands

    ext_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    interrupts.install()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as e:
        signum = e.args[0] if isinstance(e, Terminated) else 2
        print("fmcore: terminated" if isinstance(e, Terminated) else "fmcore: interrupted", file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:
        # output piped into `head` & co.: not an error; silence the flush at exit
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except _user_error_types() as err:
        if args.debug:
            raise
        print(f"fmcore: error: {_describe(err)}", file=sys.stderr)
        return getattr(err, "code", 2) if isinstance(err, FmcoreError) else 2


if __name__ == "__main__":
    sys.exit(main())
