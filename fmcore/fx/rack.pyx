# cython: boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False
"""Plugin slots of the effects chain: effects (LV2 plugins) loaded while audio runs.

The control thread prepares an effect (for LV2: instantiates and activates
it), keeps the Python reference, and publishes its address in the slot's
atomic ``pending`` cell. The audio thread adopts it at the start of its next
block and puts the effect it replaced on a retire ring; the control thread
drops the retired references later (``_reclaim``), so an effect is never
deactivated or freed while the audio thread may run it. Like the built-in
effects, each slot has an enabled bit and a 5 ms crossfade, so loading,
unloading and bypassing never click.
"""
from cpython.mem cimport PyMem_Free
from fmcore.fx.dsp cimport replace_pair
from cpython.ref cimport PyObject
from libc.stdint cimport uint32_t, uint64_t, uintptr_t
from libc.string cimport memcpy
from libc.math cimport lround
from libcpp.atomic cimport atomic, memory_order_relaxed, memory_order_acquire, memory_order_release, memory_order_acq_rel

from fmcore_rt.rt_atomics cimport SpscIndices, new_atomic_array, delete_atomic_array
from fmcore.fx.base cimport Effect

DEF EMPTY = 1                          # pending value: empty the slot
POSITIONS = ("pre", "post")


cdef class PluginRack:
    """Up to 8 plugin slots, run in slot order right after the synth (``pre``, before the
    built-in effects) or after the built-in effects (``post``)."""

    def __cinit__(self, *args, **kwargs):
        self.pending = new_atomic_array[uintptr_t](MAX_PLUGINS)
        self._mask = new_atomic_array[uint32_t](1)
        self.retire_idx = new SpscIndices()
        self.dry_l = NULL
        self.dry_r = NULL
        self.max_block = 0
        cdef int i
        for i in range(MAX_PLUGINS):
            self.pending[i].store(0)
            self.active[i] = NULL
            self.position[i] = 0
            self.pending_pos[i] = 0
            self.fade[i] = 0.0
        self._mask[0].store(0)
        self._held = {}
        self._slots = [None] * MAX_PLUGINS
        self._rate = 0.0
        self.fade_step = 1.0

    def __dealloc__(self):
        delete_atomic_array[uintptr_t](self.pending)
        delete_atomic_array[uint32_t](self._mask)
        del self.retire_idx
        PyMem_Free(self.dry_l)
        PyMem_Free(self.dry_r)

    # ---- control side ---------------------------------------------------------------

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        # audio stopped: adopt what is pending, then size every effect for the new rate and block
        replace_pair(&self.dry_l, &self.dry_r, max_block)
        self._settle_fades()
        with nogil:
            self.adopt()
        self._reclaim()
        for entry in self._slots:
            if entry is not None:
                (<Effect>entry[1]).prepare_c(sample_rate, max_block)
        cdef long n = lround(0.005 * sample_rate)
        self.fade_step = 1.0 / (n if n > 0 else 1)
        self._rate = sample_rate
        self.max_block = max_block
        return 0

    cdef int _reclaim(self) except -1:
        cdef uint64_t tail = self.retire_idx.tail.load(memory_order_relaxed)
        cdef uint64_t head = self.retire_idx.head.load(memory_order_acquire)
        while tail != head:
            self._held.pop(self.retire_slots[tail & (RACK_RETIRE - 1)], None)
            tail += 1
        self.retire_idx.tail.store(tail, memory_order_release)
        return 0

    def _publish(self, int slot, effect, int pos):
        self._reclaim()
        cdef uintptr_t addr = EMPTY
        if effect is not None:
            addr = <uintptr_t><PyObject*>effect
            self._held[addr] = effect
        self.pending_pos[slot] = pos
        cdef uintptr_t old = self.pending[slot].exchange(addr, memory_order_acq_rel)
        if old > EMPTY:
            self._held.pop(old, None)      # never adopted: the audio thread never saw it

    def load(self, effect, str position="pre"):
        """Put ``effect`` (an ``Effect`` whose parameters are registered) in the first free slot,
        enabled; prepared here if the chain is. Returns the slot index."""
        if not isinstance(effect, Effect):
            raise TypeError(f"expected an fmcore Effect, got {type(effect).__name__}")
        if position not in POSITIONS:
            raise ValueError(f"position must be 'pre' or 'post', got {position!r}")
        if effect.name in self.names():
            raise ValueError(f"an effect named {effect.name!r} is already loaded")
        free = [i for i, e in enumerate(self._slots) if e is None]
        if not free:
            raise ValueError(f"all {MAX_PLUGINS} plugin slots are in use; unload one first")
        cdef int i = free[0]
        if self.max_block > 0:
            (<Effect>effect).prepare_c(self._rate, self.max_block)
        self._slots[i] = (effect.name, effect, position)
        self._mask[0].fetch_or((<uint32_t>1) << i, memory_order_release)
        self._publish(i, effect, POSITIONS.index(position))
        return i

    def unload(self, str name):
        """Remove the effect ``name``; it fades out and is released once the audio thread let go of it."""
        cdef int i = self._index(name)
        self._slots[i] = None
        self._mask[0].fetch_and(~((<uint32_t>1) << i), memory_order_release)
        self._publish(i, None, 0)

    def _index(self, str name):
        for i, e in enumerate(self._slots):
            if e is not None and e[0] == name:
                return i
        raise ValueError(f"no plugin named {name!r} is loaded; loaded: {', '.join(self.names()) or 'none'}")

    def _held_count(self):
        # effects whose reference the rack still holds (loaded, pending or not yet reclaimed)
        return len(self._held)

    def names(self):
        """Names of the loaded effects, in slot order."""
        return [e[0] for e in self._slots if e is not None]

    def effect(self, str name):
        return self._slots[self._index(name)][1]

    def effects(self):
        """(name, effect, position) of every loaded effect, in slot order."""
        return [e for e in self._slots if e is not None]

    def set_enabled(self, str name, bint on):
        cdef uint32_t bit = (<uint32_t>1) << self._index(name)
        if on:
            self._mask[0].fetch_or(bit, memory_order_release)
        else:
            self._mask[0].fetch_and(~bit, memory_order_release)

    def is_enabled(self, str name):
        return bool((self._mask[0].load(memory_order_acquire) >> self._index(name)) & 1)

    def reset(self):
        """Adopt pending loads, release unloaded effects, reset every effect's state and jump the
        crossfades to their targets (control thread, audio stopped)."""
        self._settle_fades()
        with nogil:
            self.adopt()
        self._reclaim()
        cdef uint32_t m = self._mask[0].load(memory_order_acquire)
        cdef int i
        for i in range(MAX_PLUGINS):
            self.fade[i] = 1.0 if (self.active[i] != NULL and (m >> i) & 1) else 0.0
            if self.active[i] != NULL:
                (<object>self.active[i]).reset()

    def _settle_fades(self):
        # audio stopped: disabled slots are silent at once (so an unloaded effect is adopted away)
        cdef uint32_t m = self._mask[0].load(memory_order_acquire)
        cdef int i
        for i in range(MAX_PLUGINS):
            if not (m >> i) & 1:
                self.fade[i] = 0.0

    # ---- audio side ---------------------------------------------------------------------

    cdef void adopt(self) noexcept nogil:
        cdef int i
        cdef uintptr_t p
        cdef uint64_t head, tail
        for i in range(MAX_PLUGINS):
            p = self.pending[i].load(memory_order_relaxed)
            if p == 0:
                continue
            if p == EMPTY and self.active[i] != NULL and self.fade[i] > 0.0:
                continue                # an unloaded effect fades out first (its bit is off)
            head = self.retire_idx.head.load(memory_order_relaxed)
            tail = self.retire_idx.tail.load(memory_order_acquire)
            if head - tail >= RACK_RETIRE:
                return                  # the control thread has not reclaimed yet: adopt next block
            p = self.pending[i].exchange(0, memory_order_acq_rel)
            if p == 0:
                continue
            if self.active[i] != NULL:
                self.retire_slots[head & (RACK_RETIRE - 1)] = <uintptr_t>self.active[i]
                self.retire_idx.head.store(head + 1, memory_order_release)
            if p == EMPTY:
                self.active[i] = NULL
            else:
                self.active[i] = <PyObject*>p
            self.position[i] = self.pending_pos[i]
            self.fade[i] = 0.0          # a new effect fades in

    cdef void process(self, float* left, float* right, int nframes, int pos) noexcept nogil:
        if self.max_block == 0:
            return
        if pos == 0:
            self.adopt()
        if nframes > self.max_block:
            nframes = self.max_block
        cdef uint32_t m = self._mask[0].load(memory_order_acquire)
        cdef int i, k
        cdef bint on
        cdef float g, step, target
        for i in range(MAX_PLUGINS):
            if self.active[i] == NULL or self.position[i] != pos:
                continue
            on = (m >> i) & 1
            g = self.fade[i]
            if on and g >= 1.0:
                (<Effect>self.active[i]).process(left, right, nframes)
                continue
            if not on and g <= 0.0:
                continue
            memcpy(self.dry_l, left, nframes * sizeof(float))
            memcpy(self.dry_r, right, nframes * sizeof(float))
            (<Effect>self.active[i]).process(left, right, nframes)
            step = self.fade_step if on else -self.fade_step
            target = 1.0 if on else 0.0
            for k in range(nframes):
                g += step
                if (on and g > 1.0) or (not on and g < 0.0):
                    g = target
                left[k] = (1.0 - g) * self.dry_l[k] + g * left[k]
                right[k] = (1.0 - g) * self.dry_r[k] + g * right[k]
            self.fade[i] = g
