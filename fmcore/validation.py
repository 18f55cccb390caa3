"""The synth's validation workload: everything the audio thread must survive, scripted.

``SynthWorkload`` drives ``fmcore_rt.validate`` through note storms beyond
the polyphony (stealing), the sustain pedal, pitch bend, mod wheel,
aftertouch, volume/pan/expression, RPN/NRPN data entry, reverb and chorus
sends, drum hits that choke each other, program changes, all-notes-off, and — from
a second thread while audio runs — single parameter sets, batches, patch
switches on several channels, notes through the lock-free queue and every
effect toggled on and off.
"""
from __future__ import annotations

import random
import threading

from fmcore_rt.validate import ValidationReport, validate


class SynthWorkload:
    """A reproducible stress script for a ``fmcore.Synth`` (``seed`` fixes it)."""

    def __init__(self, seed: int = 1, channels: int = 4):
        self.seed = seed
        self.channels = channels
        self._rng = random.Random(seed)

    def setup(self, synth) -> None:
        from fmcore.render import setup_synth

        setup_synth(synth)
        synth.settle()

    def events(self, b: int, n: int):
        r = self._rng
        ev = []
        for _ in range(r.randint(0, 6)):            # a storm: several note-ons a block on average
            ch = r.choice([0, 1, 2, 3, 9][: self.channels] + [9])
            ev.append((r.randrange(n), 0x90 | ch, r.randint(24, 96), r.randint(1, 127)))
        for _ in range(r.randint(0, 4)):
            ev.append((r.randrange(n), 0x80 | r.randrange(self.channels), r.randint(24, 96), 0))
        if b % 7 == 0:
            ev.append((r.randrange(n), 0xE0 | r.randrange(self.channels), r.randrange(128), r.randrange(128)))
        if b % 11 == 0:
            ev.append((r.randrange(n), 0xB0 | r.randrange(self.channels), 1, r.randrange(128)))
        if b % 13 == 0:
            ev.append((r.randrange(n), 0xB0 | r.randrange(self.channels), 64, r.choice([0, 127])))
        if b % 17 == 0:
            ev.append((r.randrange(n), 0xB0 | r.randrange(self.channels), r.choice([7, 10, 11]), r.randrange(128)))
        if b % 19 == 0:
            ev.append((r.randrange(n), 0xD0 | r.randrange(self.channels), r.randrange(128), 0))
        if b % 29 == 0:
            ev.append((r.randrange(n), 0xC0 | r.randrange(self.channels), r.randrange(128), 0))
        if b % 97 == 0:
            ev.append((r.randrange(n), 0xB0 | r.randrange(self.channels), r.choice([120, 121, 123]), 0))
        if b % 23 == 0:                              # RPN / NRPN selection and data entry
            ch, f = r.randrange(self.channels), r.randrange(n)
            ev += [(f, 0xB0 | ch, r.choice([101, 99]), r.choice([0, 127])), (f, 0xB0 | ch, r.choice([100, 98]),
                   r.randrange(4)), (f, 0xB0 | ch, r.choice([6, 38, 96, 97]), r.randrange(128))]
        if b % 31 == 0:                              # reverb and chorus sends
            ev.append((r.randrange(n), 0xB0 | r.choice([0, 1, 2, 3, 9][: self.channels]), r.choice([91, 93]),
                       r.randrange(128)))
        return ev

    def control(self, synth, stop: threading.Event) -> None:
        from fmcore.presets import builtin_bank

        r = random.Random(self.seed + 1)
        bank = builtin_bank()
        names = [n for n in synth.params.names()]
        fx = getattr(synth, "fx", None)
        effects = list(fx.order) if fx is not None else []
        i = 0
        while not stop.is_set():
            i += 1
            name = r.choice(names)
            spec = synth.params.spec(name)
            synth.params[name] = r.uniform(spec.min, spec.max)
            if i % 3 == 0:
                with synth.params.batch() as batch:
                    for name in r.sample(names, 5):
                        spec = synth.params.spec(name)
                        batch[name] = r.uniform(spec.min, spec.max)
            if i % 5 == 0:
                synth.set_patch(r.choice(bank), channel=r.randrange(self.channels))
            if i % 7 == 0:
                synth.note_on(r.randint(30, 90), r.randint(1, 127), channel=r.randrange(self.channels))
            if i % 9 == 0 and effects:
                fx.set_enabled(r.choice(effects), r.random() < 0.5)
            stop.wait(0.001)

    def counters(self, synth) -> dict:
        s = synth.stats
        return {"events_dropped": s["events_dropped"], "voices_stolen": s["voices_stolen"],
                "notes_played": s["notes_played"], "voices_peak": s["voices_peak"]}


def validate_synth(sample_rate: float = 48000, block: int = 64, voices: int = 16, seconds: float = 10.0,
                   seed: int = 1) -> ValidationReport:
    """Run a fresh ``Synth`` through ``SynthWorkload`` for ``seconds`` of audio."""
    from fmcore.synth import Synth

    synth = Synth(sample_rate, max_voices=voices, max_block=block)
    blocks = max(1, int(seconds * sample_rate / block))
    return validate(synth, sample_rate, block, blocks, SynthWorkload(seed))
