"""Atomic file writes (stdlib only), used for every file ScalarScope writes.

The content goes to a hidden temporary file beside the target (``.NAME.tmp-XXXX``), is flushed and
fsynced, then renamed over the target, and the directory entry is fsynced too. A reader, or a
process killed at any moment, sees either the previous complete file or the new one, never a prefix.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


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


def _check_existing_target(path: Path, what: str) -> None:
    """An existing target must be a regular file: the rename would turn a device (``/dev/null``), a
    FIFO or a socket into a regular file for everyone. A symbolic link is refused too (even to a
    regular file): the rename would replace the link rather than write through it, and following
    it would let a link planted in a shared folder redirect the write anywhere this user can write."""
    from scalarscope.errors import OutputPathError

    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
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
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename it over ``path``."""
    from scalarscope.errors import OutputPathError

    path = check_output_path(path, probe=False)  # the temporary file below is the writability test
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    except OSError as exc:
        raise OutputPathError(f"output path {str(path)!r} is not writable ({exc.strerror}); choose another "
                              "directory") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable; not every platform lets us open a directory
        directory = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda handle: handle.write(data))
