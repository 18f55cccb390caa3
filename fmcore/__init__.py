"""fmcore: a real-time-safe FM synthesizer engine for Python.

``Synth`` renders (live or offline) with the GIL released; ``Patch`` holds a
sound; ``algorithm(n)`` gives the DX7's 32 operator graphs. Offline rendering
of MIDI files: ``render_midi`` / ``render_midi_to_file``.
"""
from fmcore.errors import FmcoreError
from fmcore.graph import CompiledGraph, Graph, GraphError
from fmcore.algorithms import algorithm
from fmcore.patch import Controllers, Envelope, KeyScaling, Lfo, Operator, Patch, PatchError, PitchEnvelope
from fmcore.synth import Synth
from fmcore._engine import simd_paths

__version__ = "0.1.0"

__all__ = [
    "FmcoreError", "Graph", "GraphError", "CompiledGraph", "algorithm", "Patch", "PatchError", "Operator",
    "Envelope", "KeyScaling", "Lfo", "PitchEnvelope", "Controllers", "Synth", "simd_paths", "__version__",
]

from fmcore.render import render_midi, render_midi_to_file  # noqa: E402
from fmcore.dx7 import Bank, load_bank, load_patch_sysex  # noqa: E402

__all__ += ["render_midi", "render_midi_to_file", "Bank", "load_bank", "load_patch_sysex"]
