# cython: boundscheck=False, wraparound=False, cdivision=True
"""Atomic parameter store: wait-free single sets, never-torn batches, nothing lost.

Protocol
--------
Every slot has a *batch generation*: how many batches have written it
(31 bits, wrapping). Batch writers are serialised by a mutex the audio thread
never touches; they keep the master state (each slot's latest batch value and
generation).

Batch (control side): bump the generation of each slot written, copy the whole
master state into the back buffer of a triple buffer and swap it into the
middle (one atomic exchange), then publish each written slot's (value,
generation) in ``batch[i]``, then replace each written slot's cell by a marker,
unless it already holds a single set that saw the new generation (a CAS that
can only fail when such a single set lands meanwhile). Each buffer holds the
whole state, so a buffer the audio thread never sees loses nothing.

Single set (control side, any thread, wait-free): read the slot's generation
from ``batch[i]``, store (value, that generation, SINGLE) into ``cell[i]``: one
atomic load and one atomic store.

Which write wins: a single set is newer than the slot's latest batch exactly
when its cell carries that batch's generation (it read the generation after
the batch published it); one that carries an older generation was overtaken
by the batch. Control-side reads (``control_value``) apply this rule to
``cell[i]`` and ``batch[i]``; the audio thread applies it to ``cell[i]`` and the
generation of its adopted buffer. Both read the same final cells and
buffers, so once writers stop they agree. Generations are compared for
equality only and the batch's marker clears a slot's stale single set, so a
wrap would need 2^31 batches to one slot while one single set is between its
load and its store.

Audio side, at block start: adopt the middle buffer if it is new (one
exchange); a slot whose adopted generation differs from the one its target
accounts for takes the batch value (the batch is newer). Then every cell
holding a single set of the adopted generation sets its slot's target. So a
batch lands whole in one block: all its slots change in the block that
adopts its buffer, each to the batch value or to a later single set.

Smoothing: each slot ramps linearly to a new target over its smoothing time.

``tools/params_model.pml`` is a Promela model of this protocol; spin checks
every interleaving of it (``tests/test_params_model.py``).
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.math cimport isfinite, lround
from libc.stdint cimport uint32_t, uint64_t, int32_t
from libc.string cimport memset, memcpy
from libcpp.atomic cimport memory_order_relaxed, memory_order_acquire, memory_order_release, memory_order_acq_rel

from fmcore_rt.rt_atomics cimport ParamCells

import contextlib
import math
from dataclasses import dataclass

cdef uint64_t SINGLE_FLAG = (<uint64_t>1) << 63
cdef uint32_t GEN_MASK = 0x7FFFFFFFU
cdef uint32_t NEW_BIT = 4


cdef inline uint64_t pack(float value, uint32_t gen, uint64_t flag) noexcept nogil:
    cdef uint32_t bits
    memcpy(&bits, &value, 4)
    return (<uint64_t>bits) | ((<uint64_t>(gen & GEN_MASK)) << 32) | flag


cdef inline float cell_value(uint64_t c) noexcept nogil:
    cdef uint32_t bits = <uint32_t>(c & 0xFFFFFFFFULL)
    cdef float v
    memcpy(&v, &bits, 4)
    return v


cdef inline uint32_t cell_gen(uint64_t c) noexcept nogil:
    return <uint32_t>((c >> 32) & GEN_MASK)


cdef inline bint single_of(uint64_t c, uint32_t gen) noexcept nogil:
    # a single set made after the batch of generation `gen` (so it wins over it)
    return (c & SINGLE_FLAG) != 0 and cell_gen(c) == gen


@dataclass(frozen=True)
class ParamSpec:
    """Description of one parameter slot."""
    index: int
    name: str
    min: float
    max: float
    default: float
    unit: str = ""
    smoothing: float = 0.02   # seconds to ramp to a new value (0: jump)


cdef class AtomicParams:
    """Up to 256 named float parameters shared between control threads and one audio thread.

    Control side (any thread): ``params[name] = v`` is wait-free; ``set_many``
    and ``with params.batch() as b`` publish several values that the audio
    thread adopts in the same block, never partly. Values are range-checked:
    NaN/inf raise ``ValueError``, values outside [min, max] are clamped.

    Audio side (C, ``nogil``): one ``begin_block(nframes)`` per block, then
    ``at(i, k)``/``end(i)`` give smoothed values without locks or allocation.
    """

    def __cinit__(self):
        self.cells = new ParamCells()
        self.batches = <ParamBatch*>PyMem_Malloc(3 * sizeof(ParamBatch))
        if self.batches == NULL:
            raise MemoryError()
        memset(self.batches, 0, 3 * sizeof(ParamBatch))
        # buffer 0: writer's back, 1: middle (initial value of cells.middle), 2: reader's front
        self.back = 0
        self.front = 2
        self.sample_rate = 48000.0
        memset(self.master_value, 0, sizeof(self.master_value))
        memset(self.master_gen, 0, sizeof(self.master_gen))
        memset(self.target_gen, 0, sizeof(self.target_gen))
        memset(self.steps_left, 0, sizeof(self.steps_left))
        memset(self.ramp_len, 0, sizeof(self.ramp_len))
        memset(self.inc, 0, sizeof(self.inc))
        self.n_published = 0
        self.batches_seen = 0
        self._index = {}
        self._specs = []
        self._open_batch = None

    def __dealloc__(self):
        del self.cells
        PyMem_Free(self.batches)

    # ---- specs ---------------------------------------------------------------

    def add(self, str name, double min, double max, double default, str unit="", double smoothing=0.02):
        """Register a slot and return its index.

        ``smoothing`` is the ramp time in seconds toward a new value (0 jumps).
        Names are dotted and lowercase, e.g. ``op3.ratio`` or ``fx.reverb.mix``.
        """
        cdef int i = len(self._specs)
        cdef int k
        if name in self._index:
            raise ValueError(f"parameter {name!r} is already registered")
        if i >= MAX_PARAMS:
            raise ValueError(f"cannot add {name!r}: all {MAX_PARAMS} parameter slots are in use")
        if not name or name != name.strip() or " " in name:
            raise ValueError(f"invalid parameter name {name!r}")
        for v, what in ((min, "min"), (max, "max"), (default, "default"), (smoothing, "smoothing")):
            if not math.isfinite(v):
                raise ValueError(f"parameter {name!r}: {what} must be finite, got {v}")
        if not min <= default <= max:
            raise ValueError(f"parameter {name!r}: default {default} outside [{min}, {max}]")
        if smoothing < 0:
            raise ValueError(f"parameter {name!r}: smoothing must be >= 0, got {smoothing}")
        self.lo[i] = <float>min
        self.hi[i] = <float>max
        self.dflt[i] = <float>default
        self.smoothing_s[i] = smoothing
        self.smooth_samples[i] = <int32_t>lround(smoothing * self.sample_rate)
        self.target[i] = <float>default
        self.current[i] = <float>default
        self.start[i] = <float>default
        self.ramp_to[i] = <float>default
        # generation 0 everywhere: the default is the slot's "batch" value until a write
        self.batch_mutex.lock()
        self.master_value[i] = <float>default
        for k in range(3):
            self.batches[k].value[i] = <float>default
        self.batch_mutex.unlock()
        self.cells.batch[i].store(pack(<float>default, 0, 0), memory_order_relaxed)
        self.cells.cell[i].store(pack(<float>default, 0, 0), memory_order_relaxed)
        self._specs.append(ParamSpec(i, name, float(<float>min), float(<float>max), float(<float>default), unit, smoothing))
        self._index[name] = i
        # publish the slot to the audio side after its spec is written
        self.cells.count.store(i + 1, memory_order_release)
        return i

    def prepare(self, double sample_rate):
        """Convert smoothing times to samples for ``sample_rate`` (control thread, audio stopped)."""
        if not (sample_rate > 0 and math.isfinite(sample_rate)):
            raise ValueError(f"sample_rate must be a positive number, got {sample_rate}")
        self.sample_rate = sample_rate
        cdef int i
        for i in range(len(self._specs)):
            self.smooth_samples[i] = <int32_t>lround(self.smoothing_s[i] * sample_rate)

    def names(self):
        """All parameter names in index order."""
        return [s.name for s in self._specs]

    def specs(self):
        """All ``ParamSpec``s in index order."""
        return list(self._specs)

    def spec(self, key):
        """The ``ParamSpec`` of a name or index."""
        return self._specs[self._resolve(key)]

    def index(self, str name):
        """The slot index of ``name``."""
        return self._resolve(name)

    def __len__(self):
        return len(self._specs)

    def __contains__(self, name):
        return name in self._index

    def __iter__(self):
        return iter(self.names())

    cdef int _resolve(self, key) except -1:
        if isinstance(key, str):
            try:
                return self._index[key]
            except KeyError:
                raise KeyError(f"unknown parameter {key!r}") from None
        if isinstance(key, int) and not isinstance(key, bool):
            if 0 <= key < len(self._specs):
                return key
            raise KeyError(f"parameter index {key} out of range (0..{len(self._specs) - 1})")
        raise TypeError(f"parameter key must be a name or an index, not {type(key).__name__}")

    cdef float _checked(self, int i, value) except? -1:
        cdef double v
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"parameter {self._specs[i].name!r}: value must be a number, got {value!r}") from None
        if not isfinite(v):
            raise ValueError(f"parameter {self._specs[i].name!r}: value must be finite, got {v}")
        return <float>v

    # ---- control side --------------------------------------------------------

    cdef void set_value(self, int index, float value) noexcept nogil:
        if value < self.lo[index]:
            value = self.lo[index]
        elif value > self.hi[index]:
            value = self.hi[index]
        cdef uint32_t gen = cell_gen(self.cells.batch[index].load(memory_order_acquire))
        self.cells.cell[index].store(pack(value, gen, SINGLE_FLAG), memory_order_release)

    cdef float control_value(self, int index) noexcept nogil:
        # the cell first: a single set in it read a generation no newer than batch[i] holds now
        cdef uint64_t c = self.cells.cell[index].load(memory_order_acquire)
        cdef uint64_t b = self.cells.batch[index].load(memory_order_acquire)
        return cell_value(c) if single_of(c, cell_gen(b)) else cell_value(b)

    cdef void publish(self, const int* index, const float* value, int n) noexcept nogil:
        cdef int j, i
        cdef float v
        cdef uint32_t prev, g
        cdef uint64_t c
        cdef int count = self.cells.count.load(memory_order_acquire)
        self.batch_mutex.lock()
        for j in range(n):
            i = index[j]
            v = value[j]
            if v < self.lo[i]:
                v = self.lo[i]
            elif v > self.hi[i]:
                v = self.hi[i]
            self.master_value[i] = v
            self.master_gen[i] = (self.master_gen[i] + 1) & GEN_MASK
        # 1. the whole batch state to the audio side, in one exchange
        cdef ParamBatch* b = &self.batches[self.back]
        memcpy(b.value, self.master_value, count * sizeof(float))
        memcpy(b.gen, self.master_gen, count * sizeof(uint32_t))
        prev = self.cells.middle.exchange(self.back | NEW_BIT, memory_order_acq_rel)
        self.back = prev & 3
        # 2. to control-side readers and single setters
        for j in range(n):
            i = index[j]
            self.cells.batch[i].store(pack(self.master_value[i], self.master_gen[i], 0), memory_order_release)
        # 3. retire older single sets from the cells (keeps generations from aliasing)
        for j in range(n):
            i = index[j]
            g = self.master_gen[i]
            c = self.cells.cell[i].load(memory_order_relaxed)
            while not single_of(c, g):
                if self.cells.cell[i].compare_exchange_weak(c, pack(self.master_value[i], g, 0),
                                                            memory_order_release, memory_order_relaxed):
                    break
        self.n_published += 1
        self.batch_mutex.unlock()

    cdef void force_generation(self, int index, uint32_t gen) noexcept nogil:
        # tests only, while no other thread uses the store: move a slot's batch
        # generation (e.g. next to the wrap) everywhere it is kept, consistently
        cdef int k
        cdef uint64_t c = self.cells.cell[index].load(memory_order_relaxed)
        gen &= GEN_MASK
        self.master_gen[index] = gen
        for k in range(3):
            self.batches[k].gen[index] = gen
        self.target_gen[index] = gen
        self.cells.batch[index].store(pack(self.master_value[index], gen, 0), memory_order_relaxed)
        self.cells.cell[index].store(pack(cell_value(c), gen, c & SINGLE_FLAG), memory_order_relaxed)

    def __setitem__(self, key, value):
        cdef int i = self._resolve(key)
        cdef float v = self._checked(i, value)
        if self._open_batch is not None:
            raise RuntimeError("a batch is open: set values on the batch object, not on the store")
        self.set_value(i, v)

    def __getitem__(self, key):
        """The value most recently set (clamped), as control threads see it."""
        cdef int i = self._resolve(key)
        return float(self.control_value(i))

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def set_many(self, values):
        """Set several parameters so the audio thread adopts them in the same block.

        ``values`` maps names (or indices) to numbers. Every value is checked
        before anything is published: one bad value publishes nothing.
        """
        items = values.items() if hasattr(values, "items") else values
        cdef int idx[256]
        cdef float val[256]
        cdef int n = 0
        cdef int i
        seen = {}
        for key, value in items:
            i = self._resolve(key)
            v = self._checked(i, value)
            if i in seen:
                val[seen[i]] = v
                continue
            seen[i] = n
            idx[n] = i
            val[n] = v
            n += 1
        if n:
            with nogil:
                self.publish(idx, val, n)

    @contextlib.contextmanager
    def batch(self):
        """``with params.batch() as b: b["op1.level"] = 0.5; ...`` publishes all at exit.

        Nothing is published if the block raises.
        """
        if self._open_batch is not None:
            raise RuntimeError("batches do not nest")
        pending = _Batch(self)
        self._open_batch = pending
        try:
            yield pending
        except BaseException:
            self._open_batch = None
            raise
        self._open_batch = None
        self.set_many(pending.values)

    def defaults(self):
        """Publish every slot's default value as one batch."""
        self.set_many({s.index: s.default for s in self._specs})

    def as_dict(self):
        """Current control-side values by name."""
        return {s.name: self[s.index] for s in self._specs}

    @property
    def batches_published(self):
        """How many batches have been published."""
        return self.n_published

    # ---- audio side ----------------------------------------------------------

    cdef void begin_block(self, int nframes) noexcept nogil:
        cdef int n = self.cells.count.load(memory_order_acquire)
        cdef int i
        cdef uint64_t c
        cdef uint32_t prev
        cdef float t
        cdef ParamBatch* b
        # 1. the newest batch state, if any: slots a batch wrote since take its value
        if self.cells.middle.load(memory_order_relaxed) & NEW_BIT:
            prev = self.cells.middle.exchange(self.front, memory_order_acq_rel)
            self.front = prev & 3
            self.batches_seen += 1
            b = &self.batches[self.front]
            for i in range(n):
                if b.gen[i] != self.target_gen[i]:
                    self.target_gen[i] = b.gen[i]
                    self.target[i] = b.value[i]
        # 2. single sets made after each slot's adopted batch; 3. advance the ramps
        for i in range(n):
            c = self.cells.cell[i].load(memory_order_acquire)
            if single_of(c, self.target_gen[i]):
                self.target[i] = cell_value(c)
            t = self.target[i]
            self.start[i] = self.current[i]
            if t != self.ramp_to[i]:
                # a new target: ramp from where we are over the slot's smoothing time
                self.ramp_to[i] = t
                if self.smooth_samples[i] <= 1:
                    self.start[i] = t
                    self.current[i] = t
                    self.steps_left[i] = 0
                    self.ramp_len[i] = 0
                    continue
                self.steps_left[i] = self.smooth_samples[i]
                self.inc[i] = (t - self.current[i]) / self.steps_left[i]
            if self.steps_left[i] > nframes:
                self.ramp_len[i] = nframes
                self.steps_left[i] -= nframes
                self.current[i] = self.start[i] + self.inc[i] * nframes
            elif self.steps_left[i] > 0:
                self.ramp_len[i] = self.steps_left[i]
                self.steps_left[i] = 0
                self.current[i] = t
            else:
                self.ramp_len[i] = 0

    cdef void snap(self) noexcept nogil:
        self.begin_block(0)
        cdef int i
        cdef int n = self.cells.count.load(memory_order_acquire)
        for i in range(n):
            self.current[i] = self.target[i]
            self.start[i] = self.target[i]
            self.ramp_to[i] = self.target[i]
            self.steps_left[i] = 0
            self.ramp_len[i] = 0

    def settle(self):
        """Adopt every pending write and skip the smoothing ramps.

        For the owner of the audio side while no audio thread runs (e.g.
        before an offline render), so a render starts exactly at the values set.
        """
        with nogil:
            self.snap()

    # ---- Python views of the audio side (tests, tools) -------------------------

    def audio_block(self, int nframes=0):
        """Run the audio side's ``begin_block`` once (the caller acts as the audio thread)."""
        with nogil:
            self.begin_block(nframes)

    def audio_targets(self):
        """Targets the audio side last adopted, by name (call ``audio_block`` first)."""
        return {s.name: float(self.target[s.index]) for s in self._specs}

    def audio_values(self):
        """Smoothed values at the end of the audio side's last block, by name."""
        return {s.name: float(self.current[s.index]) for s in self._specs}

    def __repr__(self):
        return f"<AtomicParams {len(self._specs)} slots>"


class _Batch:
    """Values collected by ``AtomicParams.batch()``; published whole at the end of the block."""

    __slots__ = ("_params", "values")

    def __init__(self, params):
        self._params = params
        self.values = {}

    def __setitem__(self, key, value):
        name = self._params.spec(key).name
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"parameter {name!r}: value must be a number, got {value!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"parameter {name!r}: value must be finite, got {v}")
        self.values[name] = v

    def __getitem__(self, key):
        name = self._params.spec(key).name
        return self.values[name] if name in self.values else self._params[name]
