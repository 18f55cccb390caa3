"""fmcore_rt: the real-time toolkit and host.

Lock-free structures shared between control threads and the audio thread
(``AtomicParams``, ``SpscQueue``, ``EventScheduler``, ``RtPool``, ``SampleClock``,
``TimingStats``), the processor protocol (``Processor``), the real-time
safety checker (``fmcore_rt.rtcheck``) and audio streams. It knows nothing
about FM: any processor can be hosted.
"""
from fmcore_rt.params import AtomicParams, ParamSpec
from fmcore_rt.spsc import SpscQueue, EVENT_DTYPE
from fmcore_rt.scheduler import EventScheduler
from fmcore_rt.pool import RtPool
from fmcore_rt.clock import SampleClock
from fmcore_rt.timing import TimingStats
from fmcore_rt.processor import Processor, ProcessorBusyError, Gain

PARAM_COUNT = 256

__all__ = [
    "AtomicParams", "ParamSpec", "SpscQueue", "EVENT_DTYPE", "EventScheduler", "RtPool", "SampleClock",
    "TimingStats", "Processor", "ProcessorBusyError", "Gain", "PARAM_COUNT",
]
