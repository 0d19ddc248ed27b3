"""Atomic file writes (stdlib only), used for every file ScalarScope writes.

The content goes to a hidden temporary file beside the target (``.NAME.tmp-XXXXXXXX``), is flushed
and fsynced, then renamed over the target, and the directory entry is fsynced too. A reader, or a
process killed at any moment, sees either the previous complete file or the new one, never a prefix.

SIGINT and SIGTERM are held while a file is written (:func:`hold_signals`) and delivered once it is
complete, so a second Ctrl-C cannot cut a checkpoint short. A temporary file that a killed write
left behind (the kit's own name pattern for the same target, last modified before this process
started) is removed by the next write of that target. Only existing regular files are replaced.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

_TEMPORARY_SUFFIX = ".tmp-"
_RANDOM_PART = 8  # tempfile.mkstemp's random name part: 8 characters of [a-z0-9_]


def _process_start() -> float:
    """When this process started (epoch seconds); the import time where /proc is not available."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


PROCESS_START = _process_start()


@contextlib.contextmanager
def hold_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the block (main thread only) and deliver them after it, to the
    handlers that were in place before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


def _name_limit(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def check_output_path(path: str | os.PathLike[str], what: str = "output", *, probe: bool = True) -> Path:
    """Raise :class:`~scalarscope.errors.OutputPathError` unless a file can be written at ``path``.

    Cheap and leaves nothing behind, so commands call it before any long work: the target must not
    be a directory, and its nearest existing ancestor must be a directory in which this process can
    create a file (missing parent directories are created by :func:`atomic_write`). ``probe=False``
    skips creating a test file (for a caller that is about to create its own, as atomic_write is).
    """
    from scalarscope.errors import OutputPathError

    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise OutputPathError(f"{what} path must be a non-empty file path, got {path!r}")
    path = Path(path).expanduser()
    _check_name_length(path, what)
    _check_existing_target(path, what)
    if path.is_dir():
        raise OutputPathError(f"{what} path {str(path)!r} is a directory; give a file name inside it, "
                              f"e.g. {str(path / ('run' + (path.suffix or '.out')))!r}")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f"{what} path {str(path)!r} cannot be created: {str(ancestor)!r} is a file, "
                              "not a directory")
    if not probe:
        return path
    try:  # the one reliable test (permissions, read-only file systems, root): create a file there
        fd, probe = tempfile.mkstemp(prefix=".scalarscope-write-check-", dir=ancestor)
    except OSError as exc:
        raise OutputPathError(f"{what} path {str(path)!r} is not writable: cannot create a file in "
                              f"{str(ancestor)!r} ({exc.strerror}); choose another directory") from None
    os.close(fd)
    os.unlink(probe)
    return path


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _check_name_length(path: Path, what: str) -> None:
    """The temporary file beside the target adds ``.``, ``.tmp-`` and 8 characters to its name."""
    from scalarscope.errors import OutputPathError

    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    limit = _name_limit(ancestor) - 1 - len(_TEMPORARY_SUFFIX) - _RANDOM_PART
    size = len(os.fsencode(path.name))
    if size > limit:
        raise OutputPathError(f"{what} file name is {size} bytes long; at most {limit} fit here (the file system "
                              f"allows {limit + 1 + len(_TEMPORARY_SUFFIX) + _RANDOM_PART} for the temporary "
                              "file written first); choose a shorter name")


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove temporaries a killed write of ``path`` left: the kit's own ``.NAME.tmp-XXXXXXXX``
    regular files beside it, last modified before this process started. Returns what was removed."""
    pattern = re.compile(re.escape(f".{path.name}{_TEMPORARY_SUFFIX}") + f"[a-z0-9_]{{{_RANDOM_PART}}}")
    removed = []
    try:
        candidates = [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return removed
    for candidate in candidates:
        with contextlib.suppress(OSError):
            info = os.lstat(candidate)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < PROCESS_START:
                candidate.unlink()
                removed.append(candidate)
    return removed


def _check_existing_target(path: Path, what: str) -> None:
    """An existing target must be a regular file: the rename would turn a device (``/dev/null``), a
    FIFO or a socket into a regular file for everyone. A symbolic link is refused too (even to a
    regular file): the rename would replace the link rather than write through it, and following
    it would let a link planted in a shared folder redirect the write anywhere this user can write."""
    from scalarscope.errors import OutputPathError

    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # the parent checks below give the message
        return
    except OSError as exc:
        raise OutputPathError(f"{what} path {str(path)!r} cannot be checked ({exc.strerror})") from None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return  # a directory gets its own message
    if stat.S_ISLNK(mode):
        raise OutputPathError(f"{what} path {str(path)!r} is a symbolic link (to {os.readlink(path)!r}); ScalarScope "
                              "does not write through links: give the real path, or remove the link")
    raise OutputPathError(f"{what} path {str(path)!r} is {_file_kind(mode)}, not a regular file; ScalarScope only "
                          "replaces regular files: give a file path")


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename it over ``path``.

    A failed write (a full disk, a file-size limit) raises :class:`OutputPathError` and leaves the
    previous file as it was."""
    from scalarscope.errors import OutputPathError

    path = check_output_path(path, probe=False)  # the temporary file below is the writability test
    with hold_signals():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(path)
            fd, temporary = tempfile.mkstemp(prefix=f".{path.name}{_TEMPORARY_SUFFIX}", dir=path.parent)
        except OSError as exc:
            raise OutputPathError(f"output path {str(path)!r} is not writable ({exc.strerror}); choose another "
                                  "directory") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644)
            _check_existing_target(path, "output")  # it may have become a device or a link meanwhile
            os.replace(temporary, path)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(exc, OutputPathError):
                raise
            raise OutputPathError(f"writing {str(path)!r} failed ({exc.strerror or exc}); nothing was replaced. "
                                  "Free some space (or raise the file-size limit) or choose another place") from exc
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_directory(path.parent)
    return path


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable; not every platform lets us open a directory."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda handle: handle.write(data))
