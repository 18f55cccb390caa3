"""Command-line parts of microtuning, MPE and plugin hosting: the ``lv2`` command and the
``--fx``, ``--scale``, ``--kbm``, ``--mpe`` options of ``render`` and ``live``."""
from __future__ import annotations

import re
import sys

from fmcore.errors import FmcoreError


def add_options(p) -> None:
    """Add ``--fx``, ``--scale``, ``--kbm`` and ``--mpe`` to a subcommand's parser."""
    p.add_argument("--fx", action="append", metavar="SPEC",
                   help="enable an effect or load an LV2 plugin, in order: reverb, lv2:URI, "
                        "lv2:URI,symbol=value,... (repeatable; see `fmcore lv2 list`)")
    p.add_argument("--scale", action="append", metavar="[CH:]FILE.scl",
                   help="Scala scale for every channel but 10, or for channel CH (1-16; repeatable)")
    p.add_argument("--kbm", action="append", metavar="[CH:]FILE.kbm",
                   help="Scala keyboard map for the --scale of the same channels")
    p.add_argument("--mpe", action="store_true",
                   help="MPE: a lower zone with 15 member channels (as an MPE Configuration Message)")


def _split(value: str, what: str):
    m = re.match(r"^(\d{1,2}):(.+)$", value)
    if not m:
        return None, value
    ch = int(m.group(1))
    if not 1 <= ch <= 16:
        raise FmcoreError(f"{what} {value!r}: channel must be 1-16")
    return ch - 1, m.group(2)


def tuning_from_args(args):
    """None, a ``Tuning`` (global) or {channel: Tuning} from ``--scale``/``--kbm``."""
    from fmcore.tuning import KeyboardMap, Scale, Tuning

    scales = dict(_split(v, "--scale") for v in (args.scale or []))
    kbms = dict(_split(v, "--kbm") for v in (args.kbm or []))
    if not scales and not kbms:
        return None
    for ch in kbms:
        if ch not in scales and None not in scales:
            scales[ch] = None                # a keyboard map alone: 12-TET through the map
    tunings = {}
    for ch, scl in scales.items():
        kbm = kbms.get(ch, kbms.get(None))
        tunings[ch] = Tuning(Scale.load(scl) if scl else None, KeyboardMap.load(kbm) if kbm else None)
    if list(tunings) == [None]:
        return tunings[None]
    if None in tunings:
        glob = tunings.pop(None)
        return {**{c: glob for c in range(16) if c != 9}, **tunings}
    return tunings


def extension_kwargs(args) -> dict:
    return dict(fx=args.fx, tuning=tuning_from_args(args), mpe=True if args.mpe else None)


def register(sub) -> None:
    p = sub.add_parser("lv2", help="LV2 plugins: list what is installed, describe one")
    lv2_sub = p.add_subparsers(dest="lv2_command", metavar="ACTION")
    lv2_sub.required = True
    q = lv2_sub.add_parser("list", help="installed LV2 plugins: * hostable as effects, i as instruments")
    q.add_argument("--all", action="store_true", help="also those fmcore cannot host, with the reason")
    q.set_defaults(func=cmd_lv2_list)
    q = lv2_sub.add_parser("info", help="a plugin's ports and the parameter names they get")
    q.add_argument("uri", help="the plugin's URI (see fmcore lv2 list)")
    q.set_defaults(func=cmd_lv2_info)


def cmd_lv2_list(args) -> int:
    from fmcore.fx.plugins import lv2_module

    plugins = lv2_module().list_plugins()
    shown = 0
    for p in plugins:
        if not p["hostable"] and not p["instrument"] and not args.all:
            continue
        mark = "*" if p["hostable"] else "i" if p["instrument"] else " "
        why = f"  ({p['why_not']})" if p["why_not"] else ""
        print(f"{mark} {p['uri']}  {p['name']} [{p['cls']}, {p['audio_in']} in {p['audio_out']} out]{why}")
        shown += 1
    hostable = sum(p["hostable"] for p in plugins)
    instruments = sum(p["instrument"] for p in plugins)
    print(f"{hostable} of {len(plugins)} plugins can be hosted as effects (--fx lv2:URI), {instruments} as "
          f"instruments (fmcore.fx.lv2.Lv2Instrument)", file=sys.stderr)
    return 0


def cmd_lv2_info(args) -> int:
    from fmcore.fx.plugins import lv2_module
    from fmcore_rt.params import AtomicParams

    lv2 = lv2_module()
    try:
        fx = lv2.Lv2Effect(AtomicParams(), lv2.default_name(args.uri), args.uri)
    except lv2.Lv2Error:
        fx = lv2.Lv2Effect(AtomicParams(), lv2.default_name(args.uri), args.uri, instrument=True)
    print(f"{args.uri}: {fx.plugin_name}, {fx.audio_inputs} audio in, {fx.audio_outputs} out")
    for port in fx.ports:
        line = f"  {port['index']:3d} {port['symbol']:<20} {'in ' if port['input'] else 'out'} {port['type']}"
        if "param" in port:
            line += f"  {port['param']}  [{port['min']:g} .. {port['max']:g}], default {port['default']:g}"
        print(line)
    return 0
