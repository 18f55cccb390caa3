"""The live subcommands of the ``fmcore`` command line: ``devices``, ``play``, ``live``.

``register(sub)`` adds them to the CLI's subparsers. ``python -m fmcore.live_commands``
runs them on their own, with the same one-line error reporting as ``fmcore``.
"""
from __future__ import annotations

import argparse
import sys
import threading

from fmcore.cliargs import int_range


_buffer = int_range(16, 8192, "a whole number of frames")
_rate = int_range(8000, 384000, "a sample rate in Hz")


def _stream_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=["auto", "native", "sounddevice", "pyaudio"], default="auto",
                   help="native: PortAudio callback in C, never takes the GIL; sounddevice or pyaudio: a "
                        "Python callback; auto (default): the first of these that is installed")
    p.add_argument("--device", help="output device index or part of its name (see `fmcore devices`)")
    p.add_argument("--buffer", type=_buffer, default=128, help="frames per buffer (default 128)")
    p.add_argument("--rate", type=_rate, default=48000, help="sample rate in Hz (default 48000)")
    p.add_argument("--voices", type=int_range(1, 256, "a voice count"), default=64, help="polyphony (default 64)")
    p.add_argument("--patch", help="bank.syx[:N] (voice N, 1-32), patch.json, or a built-in patch name")
    p.add_argument("--ignore-checksum", action="store_true", help="load SysEx banks with a wrong checksum")
    p.add_argument("--no-mlock", action="store_true", help="do not lock the process's memory in RAM")


def register(sub) -> None:
    """Add ``devices``, ``play`` and ``live`` to the ``fmcore`` subparsers."""
    p = sub.add_parser("devices", help="list audio host APIs and output devices (default marked *)")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("play", help="play a MIDI file in real time")
    p.add_argument("midi", nargs="?", help="MIDI file (omit for the built-in demo song)")
    _stream_options(p)
    p.add_argument("--tail", type=float, default=2.0, help="seconds played after the last event (default 2)")
    p.add_argument("--lead", type=float, default=0.2,
                   help="seconds the scheduler runs ahead of the audio clock (default 0.2)")
    p.add_argument("--lenient", action="store_true", help="play what can be read of a damaged MIDI file")
    p.add_argument("--quiet", action="store_true", help="no statistics at the end")
    from fmcore.ext_commands import add_options as _ext_options

    _ext_options(p)                       # --fx, --scale, --kbm, --mpe
    p.set_defaults(func=cmd_play)

    p = sub.add_parser("live", help="play the synth from a MIDI input port")
    p.add_argument("--midi-in", metavar="PORT", help="input port name or part of it (default: the first)")
    p.add_argument("--midi-api", choices=["auto", "alsa", "jack"], default="auto", help="MIDI system (default auto)")
    p.add_argument("--list-ports", action="store_true", help="list MIDI input ports and exit")
    p.add_argument("--channel", type=int, choices=range(1, 17), metavar="1-16",
                   help="play every message on this channel (default: as received)")
    p.add_argument("--seconds", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    _stream_options(p)
    from fmcore.ext_commands import add_options as _ext_options

    _ext_options(p)                       # --fx, --scale, --kbm, --mpe
    p.set_defaults(func=cmd_live)


def cmd_devices(args) -> int:
    from fmcore_rt.streams import format_devices

    print(format_devices())
    return 0


def cmd_play(args) -> int:
    from fmcore.ext_commands import extension_kwargs
    from fmcore.live import play_file
    from fmcore.render import demo_song_path

    midi = args.midi or str(demo_song_path())
    report = play_file(midi, backend=args.backend, device=args.device, buffer=args.buffer,
                       sample_rate=args.rate, patches=args.patch, voices=args.voices, tail=args.tail,
                       lead=args.lead, lenient=args.lenient, strict_sysex=not args.ignore_checksum,
                       lock_memory=not args.no_mlock, **extension_kwargs(args))
    if not args.quiet:
        print(report.format())
    return 130 if report.interrupted else 0


def cmd_live(args) -> int:
    from fmcore.live import MidiInput, MidiPortError, list_midi_inputs, _no_port_message

    if args.list_ports:
        ports = list_midi_inputs(args.midi_api)
        if not ports:
            raise MidiPortError(_no_port_message(args.midi_api))
        for api, name in ports:
            print(f"{name}  [{api}]")
        return 0

    from fmcore.render import setup_synth
    from fmcore.synth import Synth
    from fmcore_rt.streams import open_stream

    synth = Synth(args.rate, max_voices=args.voices, max_block=max(args.buffer, 256))
    setup_synth(synth, args.patch, strict_sysex=not args.ignore_checksum)
    from fmcore.ext_commands import extension_kwargs
    from fmcore.extensions import setup_extensions

    setup_extensions(synth, **extension_kwargs(args))
    synth.settle()
    channel = None if args.channel is None else args.channel - 1
    midi_in = MidiInput(synth, args.midi_in, api=args.midi_api, channel=channel)
    stream = open_stream(args.backend, synth, sample_rate=args.rate, frames_per_buffer=args.buffer,
                         channels=2, device=args.device, lock_memory=not args.no_mlock)
    stop = threading.Event()
    code = 0
    try:
        stream.start()
        print(f"fmcore: playing from MIDI input {midi_in.port_name!r} ({midi_in.api}) on "
              f"{stream.device.describe()}; Ctrl-C stops", file=sys.stderr)
        import time
        t_end = None if args.seconds is None else time.monotonic() + args.seconds
        while not stop.is_set():
            if t_end is not None and time.monotonic() >= t_end:
                break
            stream.wait(0.1)
    except KeyboardInterrupt:
        code = 130
    finally:
        midi_in.close()
        synth.all_sound_off()
        stream.stop()
    print(stream.stats.format())
    print(f"  MIDI messages: {midi_in.received} played, {midi_in.ignored} ignored")
    return code


def main(argv: list[str] | None = None) -> int:
    """Run one of the live commands on its own (``python -m fmcore.live_commands play song.mid``)."""
    from fmcore.cli import _describe, _user_error_types

    parser = argparse.ArgumentParser(prog="fmcore", description="fmcore live playback")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register(sub)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("fmcore: interrupted", file=sys.stderr)
        return 130
    except _user_error_types() as err:
        if args.debug:
            raise
        print(f"fmcore: error: {_describe(err)}", file=sys.stderr)
        return getattr(err, "code", 2)


if __name__ == "__main__":
    sys.exit(main())
