"""Plugin hosting glue that needs no plugin library: the error type, the optional
``fmcore.fx.lv2`` module, and ``--fx`` specifications of the command line."""
from __future__ import annotations

from fmcore.errors import FmcoreError

MISSING_LV2 = ("LV2 hosting is not built: fmcore.fx.lv2 needs lilv "
               "(apt-get install liblilv-dev, then reinstall fmcore)")


class Lv2Error(FmcoreError):
    """An LV2 plugin that cannot be found, is not hostable, or failed to instantiate."""


def lv2_module():
    """``fmcore.fx.lv2``, or ``Lv2Error`` saying in one line what is missing."""
    import importlib

    try:
        return importlib.import_module("fmcore.fx.lv2")
    except ImportError:
        raise Lv2Error(MISSING_LV2) from None


def parse_fx_spec(spec: str) -> tuple[str, str, dict[str, float]]:
    """``--fx`` values: ``reverb`` (a built-in effect) or ``lv2:URI`` with optional
    ``,symbol=value`` settings. Returns (kind, name or URI, {symbol: value})."""
    if spec.startswith("lv2:"):
        head, *sets = spec[4:].split(",")
        kind, target = "lv2", head
    else:
        head, *sets = spec.split(",")
        kind, target = "builtin", head
    if not target:
        raise FmcoreError(f"--fx {spec!r}: expected a built-in effect name or lv2:URI")
    values = {}
    for item in sets:
        key, eq, value = item.partition("=")
        try:
            if not eq or not key:
                raise ValueError
            values[key.strip()] = float(value)
        except ValueError:
            raise FmcoreError(f"--fx {spec!r}: expected symbol=number after the URI, got {item!r}") from None
    return kind, target, values


def apply_fx(synth, specs) -> list[str]:
    """Enable built-in effects and load LV2 plugins on ``synth.fx`` from ``--fx`` specs;
    returns the names of the loaded/enabled effects in order."""
    names = []
    for spec in specs or ():
        kind, target, values = parse_fx_spec(spec)
        try:
            if kind == "lv2":
                name = synth.fx.load_lv2(target).name
            else:
                synth.fx.enable(target)
                name = target
        except ValueError as err:         # a taken name, no free slot, an unknown effect
            raise FmcoreError(f"--fx {spec!r}: {err}") from None
        for key, value in values.items():
            pname = f"fx.{name}.{key}"
            if pname not in synth.params:
                known = [n.split(".", 2)[2] for n in synth.params.names() if n.startswith(f"fx.{name}.")]
                raise FmcoreError(f"--fx {spec!r}: {name} has no parameter {key!r}; it has: {', '.join(known)}")
            synth.params[pname] = value
        names.append(name)
    return names
