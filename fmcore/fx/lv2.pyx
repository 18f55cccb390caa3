# cython: boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False
"""LV2 plugins as effects of the chain, hosted through lilv.

``Lv2Effect(params, name, uri, sample_rate)`` looks the plugin up in lilv's
world (every bundle on ``LV2_PATH``, default ``~/.lv2:/usr/lib/lv2:...``),
checks that fmcore can host it (audio in/out, features), and registers each
control input port as the parameter slot ``fx.<name>.<port symbol>`` with the
port's range and default. ``prepare`` instantiates and activates the plugin on
the control thread and connects every port to memory sized there; ``process``
(audio thread) copies the slots' values into the control ports, runs the
plugin and copies its audio out: no allocation by fmcore, and whether the
plugin itself allocates is what ``fmcore_rt.rtcheck`` measures.

A mono plugin (1 in, 1 out) runs as two instances, one per channel, sharing
the parameters; a 1-in 2-out plugin gets the mid of the stereo input.
Features offered to plugins: urid:map/unmap, options (sample rate, block
lengths), buf-size:boundedBlockLength. Plugins that require anything else
(a worker thread, state paths, ...) are refused with the feature named.
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Calloc, PyMem_Free
from libc.stdint cimport uint32_t, int32_t, int64_t, uint8_t
from libc.string cimport memcpy, memset
from libc.math cimport isnan

from fmcore.fx.base cimport Effect
from fmcore_rt.params cimport AtomicParams
from fmcore_rt.processor cimport Processor
from fmcore_rt.spsc cimport SpscQueue, RtEvent, EV_MIDI
from fmcore_rt.scheduler cimport EventScheduler

import threading

import os
import re

from fmcore.fx.plugins import Lv2Error
from fmcore_rt.messages import sample_time

LV2_CORE = "http://lv2plug.in/ns/lv2core#"
_URID_MAP = b"http://lv2plug.in/ns/ext/urid#map"
_URID_UNMAP = b"http://lv2plug.in/ns/ext/urid#unmap"
_OPTIONS = b"http://lv2plug.in/ns/ext/options#options"
_BOUNDED = b"http://lv2plug.in/ns/ext/buf-size#boundedBlockLength"
_WORKER = "http://lv2plug.in/ns/ext/worker#schedule"
#: Features a plugin may require and fmcore provides (or that only describe the plugin).
SUPPORTED_FEATURES = frozenset({
    _URID_MAP.decode(), _URID_UNMAP.decode(), _OPTIONS.decode(), _BOUNDED.decode(), _WORKER,
    LV2_CORE + "hardRTCapable", LV2_CORE + "isLive", LV2_CORE + "inPlaceBroken",
})


cdef class _World:
    """lilv's world (loaded once per process) and the URID map shared by every instance."""
    cdef LilvWorld* world
    cdef const LilvPlugins* plugins
    cdef dict uri_to_id
    cdef list id_to_uri
    cdef LV2_URID_Map map_feature
    cdef LV2_URID_Unmap unmap_feature
    cdef dict nodes

    def __cinit__(self):
        self.world = lilv_world_new()
        if self.world == NULL:
            raise MemoryError()
        lilv_world_load_all(self.world)
        self.plugins = lilv_world_get_all_plugins(self.world)
        self.uri_to_id = {}
        self.id_to_uri = [None]            # URID 0 is reserved
        self.map_feature.handle = <void*>self
        self.map_feature.map = _map_uri
        self.unmap_feature.handle = <void*>self
        self.unmap_feature.unmap = _unmap_uri
        self.nodes = {}

    def __dealloc__(self):
        cdef LilvNode* n
        for addr in self.nodes.values():
            lilv_node_free(<LilvNode*><size_t>addr)
        if self.world != NULL:
            lilv_world_free(self.world)

    cdef const LilvNode* node(self, str uri):
        """An interned node for ``uri`` (freed with the world)."""
        addr = self.nodes.get(uri)
        if addr is None:
            addr = <size_t>lilv_new_uri(self.world, uri.encode())
            self.nodes[uri] = addr
        return <const LilvNode*><size_t>addr

    cdef LV2_URID map(self, bytes uri):
        urid = self.uri_to_id.get(uri)
        if urid is None:
            urid = len(self.id_to_uri)
            self.uri_to_id[uri] = urid
            self.id_to_uri.append(uri)
        return urid

    cdef const LilvPlugin* find(self, str uri) except? NULL:
        cdef LilvNode* n = lilv_new_uri(self.world, uri.encode())
        cdef const LilvPlugin* p = lilv_plugins_get_by_uri(self.plugins, n)
        lilv_node_free(n)
        if p == NULL:
            raise Lv2Error(f"no LV2 plugin {uri!r} is installed (see `fmcore lv2 list`; LV2_PATH="
                           f"{os.environ.get('LV2_PATH', 'default')})")
        return p


cdef LV2_URID _map_uri(LV2_URID_Map_Handle handle, const char* uri) noexcept with gil:
    # Plugins map their URIs at instantiation (control thread). One that maps inside run()
    # takes the GIL here: the checker then reports the lock.
    try:
        return (<_World>handle).map(<bytes>uri)
    except BaseException:
        return 0


cdef const char* _unmap_uri(LV2_URID_Unmap_Handle handle, LV2_URID urid) noexcept with gil:
    cdef _World w = <_World>handle
    if 0 < urid < len(w.id_to_uri):
        return <const char*>(<bytes>w.id_to_uri[urid])   # the bytes live in the list for good
    return NULL


_the_world = None


def _world():
    global _the_world
    if _the_world is None:
        _the_world = _World()
    return _the_world


# The worker (work:schedule), synchronous: work that run() schedules is done right after run()
# returns, on the same thread, and its responses reach work_response() before the block ends.
# Offline renders are then deterministic; what work() does (a plugin loading samples allocates)
# happens on the audio thread, and the checker reports it.
cdef inline LV2_Worker_Status _append(char* buf, uint32_t* used, uint32_t size, const void* data) noexcept nogil:
    cdef uint32_t need = (4 + size + 7) & ~7u
    if buf == NULL or used[0] + need > LV2_WORKER_CAPACITY:
        return LV2_WORKER_ERR_NO_SPACE
    memcpy(buf + used[0], &size, 4)
    memcpy(buf + used[0] + 4, data, size)
    used[0] += need
    return LV2_WORKER_SUCCESS


cdef LV2_Worker_Status _respond(LV2_Worker_Respond_Handle handle, uint32_t size, const void* data) noexcept nogil:
    return _append((<Lv2Effect>handle).wresp, &(<Lv2Effect>handle).wresp_used, size, data)


cdef LV2_Worker_Status _schedule(LV2_Worker_Schedule_Handle handle, uint32_t size, const void* data) noexcept nogil:
    return _append((<Lv2Effect>handle).wreq, &(<Lv2Effect>handle).wreq_used, size, data)


cdef str _s(const LilvNode* n):
    return lilv_node_as_string(n).decode("utf-8", "replace") if n != NULL else ""


cdef str _name_of(const LilvPlugin* p):
    cdef LilvNode* n = lilv_plugin_get_name(p)
    s = _s(n)
    lilv_node_free(n)
    return s


cdef tuple _audio_counts(_World w, const LilvPlugin* p):
    cdef uint32_t i, n = lilv_plugin_get_num_ports(p)
    cdef const LilvPort* port
    cdef int ins = 0, outs = 0
    cdef bint midi = False
    for i in range(n):
        port = lilv_plugin_get_port_by_index(p, i)
        if lilv_port_is_a(p, port, w.node(LV2_CORE + "AudioPort")):
            if lilv_port_is_a(p, port, w.node(LV2_CORE + "InputPort")):
                ins += 1
            else:
                outs += 1
        elif (lilv_port_is_a(p, port, w.node("http://lv2plug.in/ns/ext/atom#AtomPort"))
              and lilv_port_is_a(p, port, w.node(LV2_CORE + "InputPort"))):
            midi = True
    return ins, outs, midi


cdef set _required(_World w, const LilvPlugin* p):
    cdef LilvNodes* req = lilv_plugin_get_required_features(p)
    cdef LilvIter* it
    out = set()
    if req != NULL:
        it = lilv_nodes_begin(req)
        while not lilv_nodes_is_end(req, it):
            out.add(_s(lilv_nodes_get(req, it)))
            it = lilv_nodes_next(req, it)
        lilv_nodes_free(req)
    return out


cdef list _missing_features(_World w, const LilvPlugin* p):
    cdef LilvNodes* req = lilv_plugin_get_required_features(p)
    cdef LilvIter* it
    missing = []
    if req != NULL:
        it = lilv_nodes_begin(req)
        while not lilv_nodes_is_end(req, it):
            uri = _s(lilv_nodes_get(req, it))
            if uri not in SUPPORTED_FEATURES:
                missing.append(uri)
            it = lilv_nodes_next(req, it)
        lilv_nodes_free(req)
    return missing


def _hostable_reason(int ins, int outs, list missing, bint instrument=False, bint midi_in=False):
    if missing:
        return "requires " + ", ".join(missing)
    if outs == 0:
        return "no audio output"
    if instrument:
        if ins != 0 or outs > 2 or not midi_in:
            return "not an instrument fmcore can host (no audio input, 1 or 2 outputs, an atom MIDI input)"
        return ""
    if ins == 0:
        return "no audio input (an instrument or generator: see Lv2Instrument)"
    if ins > 2 or outs > 2:
        return f"{ins} audio inputs and {outs} outputs (fmcore hosts mono and stereo effects)"
    if ins == 2 and outs == 1:
        return "2 inputs and 1 output"
    return ""


def list_plugins():
    """Every LV2 plugin lilv finds: dicts with uri, name, class, audio_in, audio_out,
    hostable (bool) and why_not (empty when hostable as an effect)."""
    cdef _World w = _world()
    cdef LilvIter* it = lilv_plugins_begin(w.plugins)
    cdef const LilvPlugin* p
    out = []
    while not lilv_plugins_is_end(w.plugins, it):
        p = lilv_plugins_get(w.plugins, it)
        ins, outs, midi = _audio_counts(w, p)
        missing = _missing_features(w, p)
        why = _hostable_reason(ins, outs, missing)
        if not why and ins == 1 and outs == 1 and _WORKER in _required(w, p):
            why = "a mono plugin that needs a worker (fmcore runs mono plugins twice, one per channel)"
        out.append(dict(uri=_s(lilv_plugin_get_uri(p)), name=_name_of(p),
                        cls=_s(lilv_plugin_class_get_label(lilv_plugin_get_class(p))),
                        audio_in=ins, audio_out=outs, hostable=not why, why_not=why,
                        instrument=not _hostable_reason(ins, outs, missing, True, midi)))
        it = lilv_plugins_next(w.plugins, it)
    out.sort(key=lambda d: d["uri"])
    return out


def default_name(str uri):
    """A parameter-name-friendly label for ``uri``: its last path/fragment parts, lowercase."""
    tail = re.split(r"[/:]", uri.rstrip("/#")).pop()
    label = re.sub(r"[^a-z0-9_]+", "_", tail.lower()).strip("_")
    return label or "lv2"


cdef class Lv2Effect(Effect):
    """An LV2 plugin as an effect: parameters ``fx.<name>.<symbol>``, run in place on stereo.

    ``Lv2Effect(params, name, uri, sample_rate=48000)`` registers the slots;
    ``prepare(sample_rate, max_block)`` instantiates and activates (control
    thread); the chain runs it. ``ports`` describes every port.
    """

    def __cinit__(self, *args, **kwargs):
        self.plugin = NULL
        self.ninst = 0
        self.inst[0] = NULL
        self.inst[1] = NULL
        self.kind = NULL
        self.ctl = NULL
        self.param_port = NULL
        self.param_slot = NULL
        self.cvbuf = NULL
        self.atoms = NULL
        self.latency_port = -1
        self.nparams = 0
        cdef int i
        for i in range(4):
            self.inbuf[i] = NULL
            self.outbuf[i] = NULL

    def __init__(self, AtomicParams params not None, str name, str uri, double sample_rate=48000.0,
                 bint instrument=False):
        Effect.__init__(self, params, name)
        cdef _World w = _world()
        self._world = w
        self.uri = uri
        self.plugin = w.find(uri)
        if not lilv_plugin_verify(self.plugin):
            raise Lv2Error(f"LV2 plugin {uri!r} failed lilv's verification (broken bundle?)")
        self.plugin_name = _name_of(self.plugin)
        ins, outs, midi = _audio_counts(w, self.plugin)
        why = _hostable_reason(ins, outs, _missing_features(w, self.plugin), instrument, midi)
        if why:
            raise Lv2Error(f"LV2 plugin {uri!r} cannot be hosted as an {'instrument' if instrument else 'effect'}: {why}")
        self.audio_inputs = ins
        self.audio_outputs = outs
        self.instrument = instrument
        self.midi_port = -1
        self.urid_midi = w.map(b"http://lv2plug.in/ns/ext/midi#MidiEvent")
        self.ninst = 2 if (ins == 1 and outs == 1) else 1
        self.uses_worker = _WORKER in _required(w, self.plugin)
        if self.uses_worker and self.ninst > 1:
            raise Lv2Error(f"LV2 plugin {uri!r} cannot be hosted: a mono plugin that needs a worker")
        self.nports = lilv_plugin_get_num_ports(self.plugin)
        cdef int n = self.nports
        self.kind = <int*>PyMem_Calloc(n, sizeof(int))
        self.ctl = <float*>PyMem_Calloc(n * LV2_MAX_INSTANCES, sizeof(float))
        self.param_port = <int*>PyMem_Calloc(n, sizeof(int))
        self.param_slot = <int*>PyMem_Calloc(n, sizeof(int))
        cdef float* lo = <float*>PyMem_Malloc(n * sizeof(float))
        cdef float* hi = <float*>PyMem_Malloc(n * sizeof(float))
        cdef float* df = <float*>PyMem_Malloc(n * sizeof(float))
        if not (self.kind and self.ctl and self.param_port and self.param_slot and lo and hi and df):
            PyMem_Free(lo); PyMem_Free(hi); PyMem_Free(df)
            raise MemoryError()
        self.urid_sequence = w.map(b"http://lv2plug.in/ns/ext/atom#Sequence")
        self.urid_chunk = w.map(b"http://lv2plug.in/ns/ext/atom#Chunk")
        cdef const LilvPort* port
        cdef int i, na_in = 0, na_out = 0
        cdef double v_lo, v_hi, v_df
        self._ports = []
        try:
            lilv_plugin_get_port_ranges_float(self.plugin, lo, hi, df)
            for i in range(n):
                port = lilv_plugin_get_port_by_index(self.plugin, i)
                symbol = _s(lilv_port_get_symbol(self.plugin, port))
                is_in = lilv_port_is_a(self.plugin, port, w.node(LV2_CORE + "InputPort"))
                optional = lilv_port_has_property(self.plugin, port, w.node(LV2_CORE + "connectionOptional"))
                info = {"index": i, "symbol": symbol, "input": bool(is_in)}
                if lilv_port_is_a(self.plugin, port, w.node(LV2_CORE + "AudioPort")):
                    info["type"] = "audio"
                    if is_in:
                        self.kind[i] = PK_AUDIO_IN
                        self.ain[na_in] = i
                        na_in += 1
                    else:
                        self.kind[i] = PK_AUDIO_OUT
                        self.aout[na_out] = i
                        na_out += 1
                elif lilv_port_is_a(self.plugin, port, w.node(LV2_CORE + "ControlPort")):
                    info["type"] = "control"
                    v_lo, v_hi, v_df = lo[i], hi[i], df[i]
                    if isnan(v_lo):
                        v_lo = 0.0
                    if isnan(v_hi):
                        v_hi = v_lo + 1.0
                    if v_hi < v_lo:
                        v_lo, v_hi = v_hi, v_lo
                    if lilv_port_has_property(self.plugin, port, w.node(LV2_CORE + "sampleRate")):
                        v_lo *= sample_rate
                        v_hi *= sample_rate
                        v_df *= sample_rate
                    if isnan(v_df):
                        v_df = v_lo
                    v_df = min(max(v_df, v_lo), v_hi)
                    self.ctl[i] = <float>v_df
                    self.ctl[n + i] = <float>v_df
                    if is_in:
                        self.kind[i] = PK_CONTROL_IN
                        stepped = any(lilv_port_has_property(self.plugin, port, w.node(LV2_CORE + prop))
                                      for prop in ("toggled", "integer", "enumeration"))
                        pname = f"fx.{name}.{symbol}"
                        if pname in params:
                            spec = params.spec(pname)
                            if (spec.min, spec.max) != (float(<float>v_lo), float(<float>v_hi)):
                                raise Lv2Error(f"parameter {pname!r} is already registered with another range; "
                                               f"load {uri!r} under another name")
                            slot = spec.index
                            self._param_names.append(pname)
                        else:
                            slot = self._add(symbol, v_lo, v_hi, v_df, "", 0.0 if stepped else 0.02)
                        self.param_port[self.nparams] = i
                        self.param_slot[self.nparams] = slot
                        self.nparams += 1
                        info.update(param=pname, min=v_lo, max=v_hi, default=v_df)
                    else:
                        self.kind[i] = PK_CONTROL_OUT
                        if lilv_port_has_property(self.plugin, port, w.node(LV2_CORE + "reportsLatency")):
                            self.latency_port = i
                elif lilv_port_is_a(self.plugin, port, w.node("http://lv2plug.in/ns/ext/atom#AtomPort")):
                    info["type"] = "atom"
                    self.kind[i] = PK_ATOM_IN if is_in else PK_ATOM_OUT
                    if is_in and self.midi_port < 0:
                        self.midi_port = i
                elif lilv_port_is_a(self.plugin, port, w.node(LV2_CORE + "CVPort")):
                    info["type"] = "cv"
                    self.kind[i] = PK_CV
                elif optional:
                    info["type"] = "other"
                    self.kind[i] = PK_NONE
                else:
                    raise Lv2Error(f"LV2 plugin {uri!r}: port {symbol!r} has a type fmcore cannot connect")
                self._ports.append(info)
        finally:
            PyMem_Free(lo); PyMem_Free(hi); PyMem_Free(df)
        self.sample_rate = 0.0

    @property
    def ports(self):
        """Every port: index, symbol, input, type (audio/control/atom/cv) and, for control
        inputs, its parameter name, min, max and default."""
        return [dict(p) for p in self._ports]

    def __dealloc__(self):
        self._free_instances()
        PyMem_Free(self.kind)
        PyMem_Free(self.ctl)
        PyMem_Free(self.param_port)
        PyMem_Free(self.param_slot)

    cdef void _free_instances(self) noexcept:
        cdef int i
        for i in range(LV2_MAX_INSTANCES):
            if self.inst[i] != NULL:
                lilv_instance_deactivate(self.inst[i])
                lilv_instance_free(self.inst[i])
                self.inst[i] = NULL
        for i in range(4):
            PyMem_Free(self.inbuf[i])
            PyMem_Free(self.outbuf[i])
            self.inbuf[i] = NULL
            self.outbuf[i] = NULL
        PyMem_Free(self.cvbuf)
        PyMem_Free(self.atoms)
        PyMem_Free(self.wresp)
        PyMem_Free(self.wreq)
        self.wreq = NULL
        self.cvbuf = NULL
        self.atoms = NULL
        self.wresp = NULL
        self.worker = NULL

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        self._instantiate(sample_rate, max_block)
        self.sample_rate = sample_rate
        self.max_block = max_block
        return 0

    cdef int _instantiate(self, double sample_rate, int max_block) except -1:
        # control thread, audio stopped (the chain's prepare contract)
        self._free_instances()
        cdef _World w = <_World>self._world
        cdef int i, k, n = self.nports
        for i in range(4):
            self.inbuf[i] = <float*>PyMem_Calloc(max_block, sizeof(float))
            self.outbuf[i] = <float*>PyMem_Calloc(max_block, sizeof(float))
            if self.inbuf[i] == NULL or self.outbuf[i] == NULL:
                raise MemoryError()
        self.cvbuf = <float*>PyMem_Calloc(max_block, sizeof(float))
        self.atoms = <char*>PyMem_Calloc(n * LV2_MAX_INSTANCES, LV2_ATOM_CAPACITY)
        self.wresp = <char*>PyMem_Malloc(LV2_WORKER_CAPACITY)
        self.wreq = <char*>PyMem_Malloc(LV2_WORKER_CAPACITY)
        self.wresp_used = 0
        self.wreq_used = 0
        if self.cvbuf == NULL or self.atoms == NULL or self.wresp == NULL or self.wreq == NULL:
            raise MemoryError()
        self.opt_rate = <float>sample_rate
        self.opt_max_block = max_block
        self.opt_min_block = 1
        cdef LV2_URID t_int = w.map(b"http://lv2plug.in/ns/ext/atom#Int")
        cdef LV2_URID t_float = w.map(b"http://lv2plug.in/ns/ext/atom#Float")
        memset(self.opts, 0, sizeof(self.opts))
        self.opts[0].context = LV2_OPTIONS_INSTANCE
        self.opts[0].key = w.map(b"http://lv2plug.in/ns/ext/parameters#sampleRate")
        self.opts[0].size = sizeof(float)
        self.opts[0].type = t_float
        self.opts[0].value = &self.opt_rate
        self.opts[1].context = LV2_OPTIONS_INSTANCE
        self.opts[1].key = w.map(b"http://lv2plug.in/ns/ext/buf-size#maxBlockLength")
        self.opts[1].size = sizeof(int32_t)
        self.opts[1].type = t_int
        self.opts[1].value = &self.opt_max_block
        self.opts[2].context = LV2_OPTIONS_INSTANCE
        self.opts[2].key = w.map(b"http://lv2plug.in/ns/ext/buf-size#minBlockLength")
        self.opts[2].size = sizeof(int32_t)
        self.opts[2].type = t_int
        self.opts[2].value = &self.opt_min_block
        self.opts[3].context = LV2_OPTIONS_INSTANCE
        self.opts[3].key = w.map(b"http://lv2plug.in/ns/ext/buf-size#nominalBlockLength")
        self.opts[3].size = sizeof(int32_t)
        self.opts[3].type = t_int
        self.opts[3].value = &self.opt_max_block
        # opts[4] stays zero: the terminator
        self.feat[0].URI = b"http://lv2plug.in/ns/ext/urid#map"
        self.feat[0].data = &w.map_feature
        self.feat[1].URI = b"http://lv2plug.in/ns/ext/urid#unmap"
        self.feat[1].data = &w.unmap_feature
        self.feat[2].URI = b"http://lv2plug.in/ns/ext/options#options"
        self.feat[2].data = &self.opts[0]
        self.feat[3].URI = b"http://lv2plug.in/ns/ext/buf-size#boundedBlockLength"
        self.feat[3].data = NULL
        self.schedule.handle = <void*>self
        self.schedule.schedule_work = _schedule
        self.feat[4].URI = b"http://lv2plug.in/ns/ext/worker#schedule"
        self.feat[4].data = &self.schedule
        for i in range(5):
            self.featp[i] = &self.feat[i]
        self.featp[5] = NULL
        cdef LilvInstance* inst
        for k in range(self.ninst):
            inst = lilv_plugin_instantiate(self.plugin, sample_rate, self.featp)
            if inst == NULL:
                self._free_instances()
                raise Lv2Error(f"LV2 plugin {self.uri!r} failed to instantiate at {sample_rate:g} Hz")
            self.inst[k] = inst
            for i in range(n):
                kd = self.kind[i]
                if kd == PK_CONTROL_IN or kd == PK_CONTROL_OUT:
                    lilv_instance_connect_port(inst, i, &self.ctl[k * n + i])
                elif kd == PK_AUDIO_IN:
                    lilv_instance_connect_port(inst, i, self.inbuf[k * 2 + (0 if i == self.ain[0] else 1)])
                elif kd == PK_AUDIO_OUT:
                    lilv_instance_connect_port(inst, i, self.outbuf[k * 2 + (0 if i == self.aout[0] else 1)])
                elif kd == PK_ATOM_IN or kd == PK_ATOM_OUT:
                    lilv_instance_connect_port(inst, i, self.atoms + (k * n + i) * LV2_ATOM_CAPACITY)
                elif kd == PK_CV:
                    lilv_instance_connect_port(inst, i, self.cvbuf)
                else:
                    lilv_instance_connect_port(inst, i, NULL)
        self._reset_atoms()
        if self.uses_worker:
            self.worker = <const LV2_Worker_Interface*>lilv_instance_get_extension_data(
                self.inst[0], b"http://lv2plug.in/ns/ext/worker#interface")
            if self.worker == NULL:
                self._free_instances()
                raise Lv2Error(f"LV2 plugin {self.uri!r} asks for a worker but has no worker interface")
        for k in range(self.ninst):
            lilv_instance_activate(self.inst[k])
        return 0

    cdef void _run(self, int k, int nframes) noexcept nogil:
        cdef uint32_t pos = 0, size
        cdef LV2_Handle h
        lilv_instance_run(self.inst[k], nframes)
        if self.worker == NULL:
            return
        h = lilv_instance_get_handle(self.inst[k])
        cdef int round_
        for round_ in range(4):               # work_response may schedule more: a few rounds, bounded
            if self.wreq_used == 0:
                break
            pos = 0
            while pos < self.wreq_used:
                memcpy(&size, self.wreq + pos, 4)
                self.worker.work(h, _respond, <void*>self, size, self.wreq + pos + 4)
                pos += (4 + size + 7) & ~7u
            self.wreq_used = 0
            pos = 0
            while pos < self.wresp_used:
                memcpy(&size, self.wresp + pos, 4)
                if self.worker.work_response != NULL:
                    self.worker.work_response(h, size, self.wresp + pos + 4)
                pos += (4 + size + 7) & ~7u
            self.wresp_used = 0
        if self.worker.end_run != NULL:
            self.worker.end_run(h)

    cdef void _reset_atoms(self) noexcept nogil:
        # input sequences empty; output sequences offered with their whole capacity (as the spec asks)
        cdef int i, k
        cdef LV2_Atom_Sequence* seq
        for k in range(self.ninst):
            for i in range(self.nports):
                if self.kind[i] == PK_ATOM_IN or self.kind[i] == PK_ATOM_OUT:
                    seq = <LV2_Atom_Sequence*>(self.atoms + (k * self.nports + i) * LV2_ATOM_CAPACITY)
                    seq.body.unit = 0
                    seq.body.pad = 0
                    if self.kind[i] == PK_ATOM_IN:
                        seq.atom.type = self.urid_sequence
                        seq.atom.size = sizeof(LV2_Atom_Sequence_Body)
                    else:
                        seq.atom.type = self.urid_chunk
                        seq.atom.size = LV2_ATOM_CAPACITY - sizeof(LV2_Atom)

    def reset(self):
        """Forget the plugin's signal history: deactivate and activate again (control thread, audio stopped)."""
        cdef int k
        for k in range(self.ninst):
            if self.inst[k] != NULL:
                lilv_instance_deactivate(self.inst[k])
                lilv_instance_activate(self.inst[k])

    cdef void clear(self) noexcept nogil:
        # LV2 has no real-time-safe reset (activate/deactivate belong to the control thread);
        # the chain calls this when a slot fades in from silence, the plugin keeps its state
        pass

    @property
    def reported_latency(self):
        """Frames of latency the plugin reported on its latency port after its last run (0 if none)."""
        if self.latency_port < 0:
            return 0
        return int(self.ctl[self.latency_port])

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        if self.ninst == 0 or self.inst[0] == NULL:
            return
        if nframes > self.max_block:
            nframes = self.max_block
        cdef int j, k, n = self.nports, i
        cdef float v
        for j in range(self.nparams):
            v = self.params.end(self.param_slot[j])
            self.ctl[self.param_port[j]] = v
            self.ctl[n + self.param_port[j]] = v
        self._reset_atoms()
        cdef size_t bytes = nframes * sizeof(float)
        if self.ninst == 2:
            # mono plugin: one instance per channel
            memcpy(self.inbuf[0], left, bytes)
            memcpy(self.inbuf[2], right, bytes)
            self._run(0, nframes)
            self._run(1, nframes)
            memcpy(left, self.outbuf[0], bytes)
            memcpy(right, self.outbuf[2], bytes)
            return
        if self.audio_inputs == 2:
            memcpy(self.inbuf[0], left, bytes)
            memcpy(self.inbuf[1], right, bytes)
        else:
            for i in range(nframes):
                self.inbuf[0][i] = 0.5 * (left[i] + right[i])
        self._run(0, nframes)
        memcpy(left, self.outbuf[0], bytes)
        memcpy(right, self.outbuf[1] if self.audio_outputs == 2 else self.outbuf[0], bytes)

    cdef void begin_midi(self) noexcept nogil:
        cdef int j
        cdef float v
        for j in range(self.nparams):
            v = self.params.end(self.param_slot[j])
            self.ctl[self.param_port[j]] = v
        self._reset_atoms()

    cdef bint add_midi(self, int64_t frame, uint8_t status, uint8_t d1, uint8_t d2) noexcept nogil:
        """Append one MIDI event to the block's input sequence; False when it is full (dropped)."""
        if self.midi_port < 0 or self.atoms == NULL:
            return False
        cdef LV2_Atom_Sequence* seq = <LV2_Atom_Sequence*>(self.atoms + self.midi_port * LV2_ATOM_CAPACITY)
        cdef uint32_t n = 2 if (status & 0xF0) == 0xC0 or (status & 0xF0) == 0xD0 else 3
        cdef uint32_t used = sizeof(LV2_Atom) + seq.atom.size
        cdef uint32_t need = (16 + n + 7) & ~7u        # LV2_Atom_Event header + body, padded to 8 bytes
        if used + need > LV2_ATOM_CAPACITY:
            return False
        cdef char* ev = (<char*>seq) + used
        cdef uint8_t msg[3]
        msg[0] = status
        msg[1] = d1
        msg[2] = d2
        memcpy(ev, &frame, 8)                           # time.frames
        memcpy(ev + 8, &n, 4)                           # body.size
        memcpy(ev + 12, &self.urid_midi, 4)             # body.type
        memcpy(ev + 16, msg, n)
        seq.atom.size += need
        return True

    cdef void run_instrument(self, float* left, float* right, int nframes) noexcept nogil:
        if self.inst[0] == NULL:
            return
        if nframes > self.max_block:
            nframes = self.max_block
        self._run(0, nframes)
        cdef size_t bytes = nframes * sizeof(float)
        memcpy(left, self.outbuf[0], bytes)
        memcpy(right, self.outbuf[1] if self.audio_outputs == 2 else self.outbuf[0], bytes)

    def __repr__(self):
        return f"<Lv2Effect {self.name!r} {self.uri}>"


cdef class Lv2Instrument(Processor):
    """An LV2 instrument (MIDI in, audio out) hosted as a processor, like ``fmcore.Synth``.

    ``Lv2Instrument(uri, sample_rate=48000, max_block=1024)``: ``process(out, events)``
    renders with MIDI channel messages at their exact frames (they become the plugin's
    time-stamped atom events); ``send``/``note_on``/``note_off`` queue events from any
    control thread. Control inputs are parameters ``fx.<name>.<symbol>`` in ``params``.
    """

    def __init__(self, str uri, double sample_rate=48000.0, int max_block=1024, name=None):
        self.params = AtomicParams()
        self.core = Lv2Effect(self.params, default_name(uri) if name is None else str(name), uri, sample_rate,
                              instrument=True)
        # events from control threads, by time, a bounded number per block (as the synth's)
        self.scheduler = EventScheduler(4096, 8192, 2.0)
        self.queue = self.scheduler.queue
        self._push_lock = threading.Lock()
        self.prepare(sample_rate, max_block)
        self.params.settle()

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        self.params.prepare(sample_rate)
        self.core.prepare_c(sample_rate, max_block)
        return 0

    cdef int render(self, float** out, int nchannels, int nframes,
                    const RtEvent* events, int nevents) noexcept nogil:
        cdef int bi = 0, c, i, sf
        cdef RtEvent ev
        self.params.begin_block(nframes)
        self.core.begin_midi()
        self.scheduler.begin_block(<int64_t>self.clock.now(), nframes)
        while True:                       # queued and block events merged in frame order
            sf = self.scheduler.next_offset()
            if bi < nevents and events[bi].frame < sf:
                if events[bi].kind == EV_MIDI:
                    self.core.add_midi(events[bi].frame, events[bi].status, events[bi].data1, events[bi].data2)
                bi += 1
            elif sf < nframes:
                self.scheduler.pop(&ev)
                if ev.kind == EV_MIDI:
                    self.core.add_midi(sf, ev.status, ev.data1, ev.data2)
            else:
                break
        cdef float* right = out[1] if nchannels >= 2 else self.core.inbuf[0]
        self.core.run_instrument(out[0], right, nframes)
        if nchannels == 1:
            for i in range(nframes):
                out[0][i] = 0.5 * (out[0][i] + right[i])
        for c in range(2, nchannels):
            memset(out[c], 0, nframes * sizeof(float))
        return 0

    def send(self, int status, int data1=0, int data2=0, at=None):
        """Queue a MIDI channel message for sample ``at`` (absolute) or the next block; False if full."""
        if not 0x80 <= status <= 0xEF or not (0 <= data1 <= 127 and 0 <= data2 <= 127):
            raise ValueError(f"not a MIDI channel message: {status:#x} {data1} {data2}")
        cdef RtEvent e
        memset(&e, 0, sizeof(RtEvent))
        e.frame = -1 if at is None else sample_time(at)
        e.kind = EV_MIDI
        e.status = <uint8_t>status
        e.data1 = <uint8_t>data1
        e.data2 = <uint8_t>data2
        cdef bint ok
        with self._push_lock:
            with nogil:
                ok = self.queue.push(&e)
        return ok

    def note_on(self, int note, int velocity=100, int channel=0, at=None):
        return self.send(0x90 | channel, note, velocity, at)

    def note_off(self, int note, int channel=0, at=None):
        return self.send(0x80 | channel, note, 0, at)

    def reset(self):
        """Forget the plugin's state and restart the clock (audio stopped)."""
        self.scheduler.reset()
        self.core.reset()
        self.clock.reset()

    def __repr__(self):
        return f"<Lv2Instrument {self.core.uri}>"
