"""Test-only processors that break the audio thread's rules on purpose (for rtcheck's tests)."""
from fmcore_rt.processor import Processor

class MallocProcessor(Processor):
    """malloc + free ``calls`` times per block."""
    calls: int
    size: int
    def __init__(self, calls: int = 1, size: int = 256) -> None: ...

class VectorProcessor(Processor):
    """Grows a local std::vector to ``calls`` elements per block (operator new/delete)."""
    calls: int
    def __init__(self, calls: int = 5) -> None: ...

class MutexProcessor(Processor):
    """pthread_mutex_lock/unlock ``calls`` times per block."""
    calls: int
    def __init__(self, calls: int = 1) -> None: ...

class SleepProcessor(Processor):
    """nanosleep or usleep of zero time ``calls`` times per block."""
    calls: int
    def __init__(self, mode: str = "nanosleep", calls: int = 1) -> None: ...
    @property
    def mode(self) -> str: ...

class FileWriteProcessor(Processor):
    """write() of one byte to /dev/null ``calls`` times per block (opened in prepare)."""
    calls: int
    def __init__(self, calls: int = 1) -> None: ...

class CleanProcessor(Processor):
    """Adds a sine: pure arithmetic, no violations."""
    freq: float
    def __init__(self, freq: float = 440.0) -> None: ...

class SpinProcessor(Processor):
    work: int
    def __init__(self, work: int = 20_000_000) -> None: ...

def malloc_free_ns(n: int = 1000000, size: int = 64) -> float:
    """Mean ns of one malloc + free pair outside any real-time section."""
    ...
