"""Files written whole or not at all: a temporary file in the destination's directory, renamed into place.

An interrupted or failed write never leaves a partial file under the
requested name; the file gets the mode a plain ``open()`` would give it (or
keeps the mode of the file it replaces).

Temporary files are named ``.<name>.fmcore-<host>-<pid>-<random>.part<suffix>``
so that what a killed process (SIGKILL, a power cut) left behind can be told
apart from a write in progress: before writing into a directory, a process
removes the temporary files there whose writer ran on this host and is no
longer alive (``sweep_stale``). Files of live processes, of other hosts
(a shared file system) and of other programs are never touched.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import threading
from pathlib import Path
from typing import Iterator

_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname() or "host")[:40]
_TEMP = re.compile(r"^\..+\.fmcore-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[A-Za-z0-9_]+\.part(\.[A-Za-z0-9]+)?$")
_swept: set[str] = set()
_swept_lock = threading.Lock()


def _umask() -> int:
    # Read it without setting it (os.umask would change it for every thread for a moment).
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True   # someone else's process (or a number we cannot ask about): leave its files
    return True


def stale_temp_files(directory: str | os.PathLike) -> list[Path]:
    """Temporary files in ``directory`` left by fmcore processes of this host that are no longer running."""
    out = []
    try:
        names = os.listdir(directory)
    except OSError:
        return out
    for name in names:
        m = _TEMP.match(name)
        if m and m.group("host") == _HOST and not _alive(int(m.group("pid"))):
            out.append(Path(directory) / name)
    return out


def sweep_stale(directory: str | os.PathLike, force: bool = False) -> list[Path]:
    """Remove ``stale_temp_files(directory)`` (once per directory and process unless ``force``)."""
    key = os.path.abspath(directory)
    with _swept_lock:
        if key in _swept and not force:
            return []
        _swept.add(key)
    removed = []
    for p in stale_temp_files(directory):
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    Raises ``FileNotFoundError`` naming the directory when it does not exist.
    """
    dest = Path(path)
    directory = dest.parent if str(dest.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(2, f"directory {directory} does not exist", str(dest))
    sweep_stale(directory)
    mode = dest.stat().st_mode & 0o777 if dest.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.fmcore-{_HOST}-{os.getpid()}-", suffix=".part" + suffix,
                               dir=directory)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def scratch_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (named like ``atomic_path``'s), always removed at the end."""
    dest = Path(path)
    directory = dest.parent if str(dest.parent) else Path(".")
    sweep_stale(directory)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.fmcore-{_HOST}-{os.getpid()}-", suffix=".part" + suffix,
                               dir=directory)
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))
