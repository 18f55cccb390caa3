# C-level interface of LV2 hosting: lilv's C API (liblilv-dev) and the plugin effect.
from libc.stdint cimport uint32_t, int32_t, int64_t, uint8_t
from fmcore.fx.base cimport Effect
from fmcore_rt.processor cimport Processor
from fmcore_rt.params cimport AtomicParams
from fmcore_rt.scheduler cimport EventScheduler
from fmcore_rt.spsc cimport SpscQueue

cdef extern from "lv2/core/lv2.h" nogil:
    ctypedef void* LV2_Handle
    ctypedef struct LV2_Feature:
        const char* URI
        void* data

cdef extern from "lv2/worker/worker.h" nogil:
    ctypedef enum LV2_Worker_Status:
        LV2_WORKER_SUCCESS
        LV2_WORKER_ERR_UNKNOWN
        LV2_WORKER_ERR_NO_SPACE
    ctypedef void* LV2_Worker_Respond_Handle
    ctypedef void* LV2_Worker_Schedule_Handle
    ctypedef LV2_Worker_Status (*LV2_Worker_Respond_Function)(LV2_Worker_Respond_Handle, uint32_t,
                                                              const void*) noexcept nogil
    ctypedef struct LV2_Worker_Interface:
        LV2_Worker_Status (*work)(LV2_Handle, LV2_Worker_Respond_Function, LV2_Worker_Respond_Handle,
                                  uint32_t, const void*) noexcept nogil
        LV2_Worker_Status (*work_response)(LV2_Handle, uint32_t, const void*) noexcept nogil
        LV2_Worker_Status (*end_run)(LV2_Handle) noexcept nogil
    ctypedef struct LV2_Worker_Schedule:
        LV2_Worker_Schedule_Handle handle
        LV2_Worker_Status (*schedule_work)(LV2_Worker_Schedule_Handle, uint32_t, const void*) noexcept nogil

cdef extern from "lv2/urid/urid.h" nogil:
    ctypedef uint32_t LV2_URID
    ctypedef void* LV2_URID_Map_Handle
    ctypedef void* LV2_URID_Unmap_Handle
    ctypedef struct LV2_URID_Map:
        LV2_URID_Map_Handle handle
        LV2_URID (*map)(LV2_URID_Map_Handle handle, const char* uri)
    ctypedef struct LV2_URID_Unmap:
        LV2_URID_Unmap_Handle handle
        const char* (*unmap)(LV2_URID_Unmap_Handle handle, LV2_URID urid)

cdef extern from "lv2/options/options.h" nogil:
    ctypedef enum LV2_Options_Context:
        LV2_OPTIONS_INSTANCE
    ctypedef struct LV2_Options_Option:
        LV2_Options_Context context
        uint32_t subject
        LV2_URID key
        uint32_t size
        LV2_URID type
        const void* value

cdef extern from "lv2/atom/atom.h" nogil:
    ctypedef struct LV2_Atom:
        uint32_t size
        uint32_t type
    ctypedef struct LV2_Atom_Sequence_Body:
        uint32_t unit
        uint32_t pad
    ctypedef struct LV2_Atom_Sequence:
        LV2_Atom atom
        LV2_Atom_Sequence_Body body

cdef extern from "lilv/lilv.h" nogil:
    ctypedef struct LilvWorld:
        pass
    ctypedef struct LilvPlugin:
        pass
    ctypedef struct LilvPlugins:
        pass
    ctypedef struct LilvPluginClass:
        pass
    ctypedef struct LilvPort:
        pass
    ctypedef struct LilvNode:
        pass
    ctypedef struct LilvNodes:
        pass
    ctypedef struct LilvInstance:
        pass
    ctypedef void* LilvIter

    LilvWorld* lilv_world_new()
    void lilv_world_free(LilvWorld* world)
    void lilv_world_load_all(LilvWorld* world)
    const LilvPlugins* lilv_world_get_all_plugins(const LilvWorld* world)

    LilvIter* lilv_plugins_begin(const LilvPlugins* collection)
    LilvIter* lilv_plugins_next(const LilvPlugins* collection, LilvIter* i)
    bint lilv_plugins_is_end(const LilvPlugins* collection, LilvIter* i)
    const LilvPlugin* lilv_plugins_get(const LilvPlugins* collection, LilvIter* i)
    const LilvPlugin* lilv_plugins_get_by_uri(const LilvPlugins* plugins, const LilvNode* uri)

    LilvIter* lilv_nodes_begin(const LilvNodes* collection)
    LilvIter* lilv_nodes_next(const LilvNodes* collection, LilvIter* i)
    bint lilv_nodes_is_end(const LilvNodes* collection, LilvIter* i)
    const LilvNode* lilv_nodes_get(const LilvNodes* collection, LilvIter* i)
    void lilv_nodes_free(LilvNodes* collection)

    LilvNode* lilv_new_uri(LilvWorld* world, const char* uri)
    void lilv_node_free(LilvNode* val)
    const char* lilv_node_as_uri(const LilvNode* value)
    const char* lilv_node_as_string(const LilvNode* value)

    bint lilv_plugin_verify(const LilvPlugin* plugin)
    const LilvNode* lilv_plugin_get_uri(const LilvPlugin* plugin)
    LilvNode* lilv_plugin_get_name(const LilvPlugin* plugin)
    const LilvPluginClass* lilv_plugin_get_class(const LilvPlugin* plugin)
    const LilvNode* lilv_plugin_class_get_label(const LilvPluginClass* plugin_class)
    const LilvNode* lilv_plugin_class_get_uri(const LilvPluginClass* plugin_class)
    LilvNodes* lilv_plugin_get_required_features(const LilvPlugin* plugin)
    uint32_t lilv_plugin_get_num_ports(const LilvPlugin* plugin)
    void lilv_plugin_get_port_ranges_float(const LilvPlugin* plugin, float* min_values, float* max_values,
                                           float* def_values)
    const LilvPort* lilv_plugin_get_port_by_index(const LilvPlugin* plugin, uint32_t index)
    bint lilv_plugin_has_feature(const LilvPlugin* plugin, const LilvNode* feature)

    bint lilv_port_is_a(const LilvPlugin* plugin, const LilvPort* port, const LilvNode* port_class)
    bint lilv_port_has_property(const LilvPlugin* plugin, const LilvPort* port, const LilvNode* property)
    const LilvNode* lilv_port_get_symbol(const LilvPlugin* plugin, const LilvPort* port)
    LilvNode* lilv_port_get_name(const LilvPlugin* plugin, const LilvPort* port)

    LilvInstance* lilv_plugin_instantiate(const LilvPlugin* plugin, double sample_rate,
                                          const LV2_Feature* const* features)
    void lilv_instance_free(LilvInstance* instance)
    void lilv_instance_connect_port(LilvInstance* instance, uint32_t port_index, void* data_location)
    void lilv_instance_activate(LilvInstance* instance)
    void lilv_instance_run(LilvInstance* instance, uint32_t sample_count)
    void lilv_instance_deactivate(LilvInstance* instance)
    const void* lilv_instance_get_extension_data(const LilvInstance* instance, const char* uri)
    LV2_Handle lilv_instance_get_handle(const LilvInstance* instance)

cdef enum:
    LV2_MAX_INSTANCES = 2      # a mono plugin runs twice on a stereo signal, one instance per channel
    LV2_ATOM_CAPACITY = 8192   # bytes of each atom port buffer
    LV2_WORKER_CAPACITY = 65536  # bytes of worker responses per block

# What each port is connected to
cdef enum PortKind:
    PK_CONTROL_IN = 0
    PK_CONTROL_OUT = 1
    PK_AUDIO_IN = 2
    PK_AUDIO_OUT = 3
    PK_ATOM_IN = 4
    PK_ATOM_OUT = 5
    PK_CV = 6
    PK_NONE = 7                # optional port we leave unconnected

cdef class Lv2Effect(Effect):
    cdef object _world                 # keeps lilv's world (and the URID map) alive while instances exist
    cdef const LilvPlugin* plugin
    cdef readonly str uri
    cdef readonly str plugin_name
    cdef readonly int audio_inputs
    cdef readonly int audio_outputs
    cdef readonly bint instrument      # no audio input: played through MIDI (see Lv2Instrument)
    cdef int midi_port                 # the atom input port MIDI events go to, or -1
    cdef LV2_URID urid_midi
    cdef int ninst
    cdef list _ports
    cdef LilvInstance* inst[2]
    cdef int nports
    cdef int* kind                     # PortKind of each port
    cdef float* ctl                    # control port values, nports per instance
    cdef int nparams
    cdef int* param_port               # control input port of each parameter slot
    cdef int* param_slot               # its AtomicParams index
    cdef int latency_port              # control output reporting latency, or -1
    cdef int ain[2]
    cdef int aout[2]
    cdef float* inbuf[4]               # [instance * 2 + channel], max_block frames each
    cdef float* outbuf[4]
    cdef float* cvbuf                  # zeros for CV ports
    cdef char* atoms                   # LV2_ATOM_CAPACITY bytes per port per instance
    cdef LV2_URID urid_sequence
    cdef LV2_URID urid_chunk
    # features handed to the plugin (stable addresses for its lifetime)
    cdef LV2_Feature feat[6]
    cdef const LV2_Feature* featp[7]
    cdef LV2_Worker_Schedule schedule
    cdef const LV2_Worker_Interface* worker
    cdef char* wreq                    # work scheduled during run(), done right after it
    cdef uint32_t wreq_used
    cdef char* wresp                   # responses of that work, delivered to work_response()
    cdef uint32_t wresp_used
    cdef readonly bint uses_worker
    cdef LV2_Options_Option opts[5]
    cdef float opt_rate
    cdef int32_t opt_max_block
    cdef int32_t opt_min_block

    cdef int _instantiate(self, double sample_rate, int max_block) except -1
    cdef void _free_instances(self) noexcept
    cdef void _reset_atoms(self) noexcept nogil
    cdef void _run(self, int k, int nframes) noexcept nogil
    # audio thread, instruments: begin a block, add its MIDI events in frame order, run
    cdef void begin_midi(self) noexcept nogil
    cdef bint add_midi(self, int64_t frame, uint8_t status, uint8_t d1, uint8_t d2) noexcept nogil
    cdef void run_instrument(self, float* left, float* right, int nframes) noexcept nogil

cdef class Lv2Instrument(Processor):
    cdef readonly AtomicParams params
    cdef readonly Lv2Effect core
    cdef EventScheduler scheduler
    cdef SpscQueue queue
    cdef object _push_lock
