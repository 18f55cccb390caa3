"""The error the command line reports as one line: ``fmcore: error: <file>: <problem>``."""
from __future__ import annotations


class FmcoreError(Exception):
    """A user-facing error: bad input, a missing file, an unusable device.

    ``str(err)`` is the whole message, starting with the file it concerns
    when there is one. The CLI prints it on one line and exits with ``code``.
    """

    code = 2

    def __init__(self, message: str, *, path: str | None = None, code: int | None = None):
        super().__init__(f"{path}: {message}" if path else message)
        if code is not None:
            self.code = code
