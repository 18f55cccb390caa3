"""The error the command line reports as one line: ``fmcore: error: <file>: <problem>``."""
from __future__ import annotations

import errno
import os
from pathlib import Path


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


_OS_REASONS = {errno.ENOENT: "no such file or directory", errno.EACCES: "permission denied",
               errno.EISDIR: "is a directory", errno.ENOTDIR: "not a directory",
               errno.ENOSPC: "the disk is full (no space left on device)", errno.EDQUOT: "disk quota exceeded",
               errno.EROFS: "read-only file system", errno.ENAMETOOLONG: "file name too long"}


def describe_error(err: BaseException) -> str:
    """One line for any error, for a user: ``<file>: <problem>`` for OS errors (never ``[Errno 2] ...``)."""
    if isinstance(err, OSError) and err.errno is not None:
        custom = err.strerror and err.strerror != os.strerror(err.errno)
        reason = err.strerror if custom else _OS_REASONS.get(err.errno) or (err.strerror or str(err)).lower()
        name = err.filename
        return f"{os.fsdecode(name)}: {reason}" if name is not None else reason
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(err.args[0], str):
        return err.args[0]
    return " ".join(str(err).split()) or type(err).__name__


def read_input(path, error: type[FmcoreError] = FmcoreError, directory: str = "is a directory") -> bytes:
    """The bytes of the input file ``path``; a missing, unreadable or directory path raises
    ``error`` ("<path>: <problem>"), ``directory`` being the problem said of a directory."""
    name = os.fspath(path)
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise error("no such file", path=name) from None
    except IsADirectoryError:
        raise error(directory, path=name) from None
    except PermissionError:
        raise error("permission denied", path=name) from None
    except OSError as err:
        raise error(f"cannot read: {err.strerror or err}", path=name) from None
