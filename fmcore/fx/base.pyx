# cython: auto_pickle=False
"""Base class of the effects in the chain (see ``fmcore.fx.chain``)."""
from fmcore_rt.params cimport AtomicParams


cdef class Effect:
    """One effect of the chain: registers its parameters, processes stereo in place.

    Subclasses register their parameters in ``__init__`` with ``_add`` (named
    ``fx.<effect>.<param>``), allocate in ``prepare_c`` and process without
    the GIL in ``process``. Effects are created and driven by ``FxChain``;
    the synth's reverb and chorus sends are instances with ``wet_only`` set.
    """

    def __init__(self, AtomicParams params not None, str name, defaults=None):
        self.params = params
        self.name = name
        self.sample_rate = 0.0
        self.max_block = 0
        self.latency = 0
        self.wet_only = False
        self._param_names = []
        self._defaults = dict(defaults or {})

    def _add(self, str param, double lo, double hi, double default, str unit="", double smoothing=0.02):
        """Register ``fx.<name>.<param>`` in the store and return its slot index; ``defaults``
        given to the constructor override the effect's own default value."""
        full = f"fx.{self.name}.{param}"
        self._param_names.append(full)
        return self.params.add(full, lo, hi, self._defaults.get(param, default), unit, smoothing)

    @property
    def param_names(self):
        """The parameter names this effect registered, in registration order."""
        return list(self._param_names)

    def prepare(self, double sample_rate, int max_block):
        """Allocate for ``sample_rate`` and blocks up to ``max_block`` (control thread)."""
        self.prepare_c(sample_rate, max_block)

    def reset(self):
        """Clear all signal history (control thread, audio stopped)."""
        with nogil:
            self.clear()

    cdef int prepare_c(self, double sample_rate, int max_block) except -1:
        self.sample_rate = sample_rate
        self.max_block = max_block
        return 0

    cdef void clear(self) noexcept nogil:
        pass

    cdef void process(self, float* left, float* right, int nframes) noexcept nogil:
        pass

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"
