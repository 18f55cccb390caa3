# cython: boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False
"""The effects chain: up to eight effects in a fixed order, each switched by a bit.

Control side (any thread): ``enable``/``disable``/``set_enabled`` flip a bit
of one ``std::atomic<uint32_t>`` (wait-free ``fetch_or``/``fetch_and``); bit
``EFFECTS.index(name)`` belongs to each effect, whatever the order. Effect
parameters live in the shared ``AtomicParams`` as ``fx.<effect>.<param>``.

Audio side, per block: one load of the mask. A slot whose bit is off and
whose fade has reached 0 is skipped: bit-exact passthrough, no cost. A slot
that is on and fully faded in processes in place. In between, the slot's wet
amount moves by ``1 / (5 ms * sample_rate)`` per frame and the output is
``(1 - g) * dry + g * wet``, so toggling never clicks. A slot that starts
fading in from 0 first forgets its old state (delay lines, reverb tail).
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from fmcore.fx.dsp cimport replace_pair
from libc.stdint cimport uint32_t
from libc.string cimport memcpy
from libc.math cimport lround
from libcpp.atomic cimport atomic, memory_order_relaxed, memory_order_acquire, memory_order_release

from fmcore_rt.params cimport AtomicParams
from fmcore_rt.processor cimport Processor, USE_RESET
from fmcore_rt.processor import exclusive
from fmcore_rt.spsc cimport RtEvent
from fmcore_rt.rt_atomics cimport new_atomic_array, delete_atomic_array
from fmcore.fx.base cimport Effect
from fmcore.fx.rack cimport PluginRack

from fmcore_rt.params import AtomicParams as _AtomicParams
from fmcore.fx.filters import SvfFilter, Equalizer
from fmcore.fx.drive import Drive
from fmcore.fx.modulation import Chorus
from fmcore.fx.delay import Delay
from fmcore.fx.reverb import Reverb
from fmcore.fx.dynamics import Compressor, Limiter

EFFECTS = ("filter", "drive", "eq", "chorus", "delay", "reverb", "compressor", "limiter")
DEFAULT_ORDER = EFFECTS
CROSSFADE_SECONDS = 0.005

_CLASSES = {
    "filter": SvfFilter, "drive": Drive, "eq": Equalizer, "chorus": Chorus,
    "delay": Delay, "reverb": Reverb, "compressor": Compressor, "limiter": Limiter,
}


def _bit(name):
    try:
        return EFFECTS.index(name)
    except ValueError:
        raise ValueError(f"unknown effect {name!r}; effects are {', '.join(EFFECTS)}") from None


cdef class FxChain:
    """A fixed chain of effects with an atomic enabled mask.

    ``FxChain(params, order=DEFAULT_ORDER)`` registers every parameter of the
    effects in ``order`` (plus ``fx.tempo_bpm``) into ``params``; ``order`` is
    a tuple of distinct names from ``EFFECTS`` (at most 8) and is fixed. All
    effects start disabled. ``prepare(sample_rate, max_block)`` allocates.
    The audio thread calls the C method ``process(left, right, nframes)``
    after ``params.begin_block(nframes)``.
    """

    def __cinit__(self, *args, **kwargs):
        self._mask = new_atomic_array[uint32_t](1)
        self.dry_l = NULL
        self.dry_r = NULL
        self.nslots = 0
        self.prepared = False
        cdef int i
        for i in range(MAX_SLOTS):
            self.fade[i] = 0.0
            self.kind[i] = -1

    def __init__(self, AtomicParams params not None, order=DEFAULT_ORDER):
        order = tuple(order)
        if not 1 <= len(order) <= MAX_SLOTS:
            raise ValueError(f"order must name 1..{MAX_SLOTS} effects, got {len(order)}")
        for name in order:
            _bit(name)
        if len(set(order)) != len(order):
            raise ValueError(f"order names an effect twice: {order!r}")
        self.params = params
        self._order = order
        self._effects = {}
        if "fx.tempo_bpm" not in params:
            params.add("fx.tempo_bpm", 20, 300, 120, "bpm", 0.05)
        cdef int i
        for i, name in enumerate(order):
            fx = _CLASSES[name](params, name)
            self._effects[name] = fx
            self.kind[i] = EFFECTS.index(name)
            if i == 0: self.s0 = fx
            elif i == 1: self.s1 = fx
            elif i == 2: self.s2 = fx
            elif i == 3: self.s3 = fx
            elif i == 4: self.s4 = fx
            elif i == 5: self.s5 = fx
            elif i == 6: self.s6 = fx
            else: self.s7 = fx
        self.nslots = len(order)
        self.rack = PluginRack()

    def __dealloc__(self):
        delete_atomic_array[uint32_t](self._mask)
        PyMem_Free(self.dry_l)
        PyMem_Free(self.dry_r)

    # ---- control side ------------------------------------------------------------

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        if not (sample_rate > 0 and max_block > 0):
            raise ValueError(f"sample_rate and max_block must be positive, got {sample_rate}, {max_block}")
        replace_pair(&self.dry_l, &self.dry_r, max_block)
        cdef int i
        for i in range(self.nslots):
            self._slot(i).prepare_c(sample_rate, max_block)
        cdef long n = lround(CROSSFADE_SECONDS * sample_rate)
        self.fade_step = 1.0 / (n if n > 0 else 1)
        self.sample_rate = sample_rate
        self.max_block = max_block
        self.rack.prepare_c(sample_rate, max_block)
        self.prepared = True
        self.reset()
        return 0

    def prepare(self, double sample_rate, int max_block):
        """Allocate every buffer for ``sample_rate`` and blocks up to ``max_block`` (audio stopped)."""
        self.prepare_c(sample_rate, max_block)

    def reset(self):
        """Clear all effect state (delay lines, tails, envelopes) and jump each slot's
        crossfade to its enabled state. Control thread, audio stopped."""
        cdef uint32_t m = self._mask[0].load(memory_order_acquire)
        cdef int i
        for i in range(self.nslots):
            if self.prepared:
                self._clear(i)
            self.fade[i] = 1.0 if (m >> self.kind[i]) & 1 else 0.0
        self.rack.reset()

    def enable(self, str name):
        """Switch ``name`` on (wait-free, any thread); it fades in over 5 ms."""
        self.set_enabled(name, True)

    def disable(self, str name):
        """Switch ``name`` off (wait-free, any thread); it fades out over 5 ms."""
        self.set_enabled(name, False)

    def set_enabled(self, str name, bint on):
        """Switch ``name`` on or off (wait-free, any thread)."""
        if name in self.rack.names():
            self.rack.set_enabled(name, on)
            return
        if name not in self._effects:
            _bit(name)
            raise ValueError(f"effect {name!r} is not in this chain; its order is {self._order!r}")
        cdef uint32_t bit = (<uint32_t>1) << EFFECTS.index(name)
        if on:
            self._mask[0].fetch_or(bit, memory_order_release)
        else:
            self._mask[0].fetch_and(~bit, memory_order_release)

    def is_enabled(self, str name):
        """Whether ``name``'s bit is set."""
        if name in self.rack.names():
            return self.rack.is_enabled(name)
        return bool((self.mask >> _bit(name)) & 1)

    @property
    def mask(self):
        """The enabled bitmask: bit ``EFFECTS.index(name)`` per enabled effect."""
        return int(self._mask[0].load(memory_order_acquire))

    @property
    def enabled(self):
        """Names of the enabled effects, in chain order."""
        m = self.mask
        return [n for n in self._order if (m >> EFFECTS.index(n)) & 1]

    @property
    def order(self):
        """The effect names in processing order."""
        return self._order

    @property
    def latency(self):
        """Frames of delay the enabled effects add (the limiter's look-ahead)."""
        m = self.mask
        return sum((<Effect>self._effects[n]).latency for n in self._order if (m >> EFFECTS.index(n)) & 1)

    def effect(self, str name):
        """The effect object of ``name``."""
        try:
            return self._effects[name]
        except KeyError:
            _bit(name)
            raise ValueError(f"effect {name!r} is not in this chain; its order is {self._order!r}") from None

    def param_names(self):
        """Every parameter name the chain registered (``fx.tempo_bpm`` first), loaded plugins' last."""
        names = ["fx.tempo_bpm"]
        for n in self._order:
            names += self._effects[n].param_names
        for _, fx, _ in self.rack.effects():
            names += fx.param_names
        return names

    def load_lv2(self, str uri, name=None, str position="pre"):
        """Load the LV2 plugin ``uri`` into a plugin slot and return it (an ``Lv2Effect``).

        Its control inputs become parameters ``fx.<name>.<port symbol>`` (``name``
        defaults to the URI's last part). ``position`` ``"pre"`` runs it right after
        the synth, before the built-in effects (whose limiter keeps the last word);
        ``"post"`` after them. Instantiated and activated here, on the control
        thread; the audio thread picks it up at its next block and fades it in.
        """
        from fmcore.fx.plugins import lv2_module

        lv2 = lv2_module()
        name = lv2.default_name(uri) if name is None else str(name)
        if name in self._order or name in self.rack.names() or name == "tempo_bpm":
            raise ValueError(f"effect name {name!r} is taken; pass name=")
        fx = lv2.Lv2Effect(self.params, name, uri, self.sample_rate or 48000.0)
        self.rack.load(fx, position)
        return fx

    def unload(self, str name):
        """Remove the loaded plugin ``name`` (it fades out; its parameter slots stay registered)."""
        self.rack.unload(name)

    @property
    def plugins(self):
        """Names of the loaded plugins, in slot order."""
        return self.rack.names()

    def plugin(self, str name):
        """The loaded plugin ``name``."""
        return self.rack.effect(name)

    def __repr__(self):
        return f"<FxChain order={self._order!r} enabled={self.enabled!r}>"

    # ---- audio side -----------------------------------------------------------------

    cdef Effect _slot(self, int i):
        if i == 0: return self.s0
        if i == 1: return self.s1
        if i == 2: return self.s2
        if i == 3: return self.s3
        if i == 4: return self.s4
        if i == 5: return self.s5
        if i == 6: return self.s6
        return self.s7

    cdef void _run(self, int i, float* left, float* right, int nframes) noexcept nogil:
        # a switch instead of an array: C arrays of Python objects need the GIL
        if i == 0: self.s0.process(left, right, nframes)
        elif i == 1: self.s1.process(left, right, nframes)
        elif i == 2: self.s2.process(left, right, nframes)
        elif i == 3: self.s3.process(left, right, nframes)
        elif i == 4: self.s4.process(left, right, nframes)
        elif i == 5: self.s5.process(left, right, nframes)
        elif i == 6: self.s6.process(left, right, nframes)
        else: self.s7.process(left, right, nframes)

    cdef void _clear(self, int i) noexcept nogil:
        if i == 0: self.s0.clear()
        elif i == 1: self.s1.clear()
        elif i == 2: self.s2.clear()
        elif i == 3: self.s3.clear()
        elif i == 4: self.s4.clear()
        elif i == 5: self.s5.clear()
        elif i == 6: self.s6.clear()
        else: self.s7.clear()

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        cdef uint32_t m = self._mask[0].load(memory_order_acquire)
        cdef int i, k
        cdef bint on
        cdef float g, step, target
        if not self.prepared:
            return
        if nframes > self.max_block:      # never past the scratch buffers
            nframes = self.max_block
        self.rack.process(left, right, nframes, 0)
        for i in range(self.nslots):
            on = (m >> self.kind[i]) & 1
            g = self.fade[i]
            if on and g >= 1.0:
                self._run(i, left, right, nframes)
                continue
            if not on and g <= 0.0:
                continue
            if g <= 0.0:
                self._clear(i)      # fading in from silence: no stale tail
            memcpy(self.dry_l, left, nframes * sizeof(float))
            memcpy(self.dry_r, right, nframes * sizeof(float))
            self._run(i, left, right, nframes)
            step = self.fade_step if on else -self.fade_step
            target = 1.0 if on else 0.0
            for k in range(nframes):
                g += step
                if (on and g > 1.0) or (not on and g < 0.0):
                    g = target
                left[k] = (1.0 - g) * self.dry_l[k] + g * left[k]
                right[k] = (1.0 - g) * self.dry_r[k] + g * right[k]
            self.fade[i] = g
        self.rack.process(left, right, nframes, 1)


cdef class EffectsProcessor(Processor):
    """An effect-only stereo processor: ``process(buf)`` runs the chain on ``buf`` in place.

    Owns its ``params`` (an ``AtomicParams`` with the chain's slots) and its
    ``chain``. Channels 0 and 1 are processed; a mono buffer is processed as
    both channels and summed back. ``reset()`` adopts pending parameter values
    without ramps and clears the effects (audio stopped).
    """

    def __cinit__(self, *args, **kwargs):
        self._scratch = NULL

    def __init__(self, double sample_rate=48000, int max_block=1024, order=DEFAULT_ORDER):
        self.params = _AtomicParams()
        self.chain = FxChain(self.params, order)
        self.prepare(sample_rate, max_block)

    def __dealloc__(self):
        PyMem_Free(self._scratch)

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        cdef float* s = <float*>PyMem_Malloc(max_block * sizeof(float))
        if s == NULL:
            raise MemoryError()
        PyMem_Free(self._scratch)
        self._scratch = s
        self.params.prepare(sample_rate)
        self.chain.prepare_c(sample_rate, max_block)
        return 0

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef int k
        self.params.begin_block(nframes)
        if nchannels >= 2:
            self.chain.process(out[0], out[1], nframes)
        elif nchannels == 1:
            memcpy(self._scratch, out[0], nframes * sizeof(float))
            self.chain.process(out[0], self._scratch, nframes)
            for k in range(nframes):
                out[0][k] = 0.5 * (out[0][k] + self._scratch[k])
        return 0

    @exclusive(USE_RESET, "reset()")
    def reset(self):
        """Adopt pending parameter values without smoothing and clear every effect (audio stopped).

        Raises ``ProcessorBusyError`` if another thread is in ``process()``.
        """
        self.params.settle()
        self.chain.reset()

    def __repr__(self):
        return f"<EffectsProcessor {self.sample_rate:g} Hz, max_block {self.max_block}, {self.chain!r}>"
