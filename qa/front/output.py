"""Where results go: standard output, or a file named with -o, written as they are produced.

A regular file (new or existing) is written to a temporary file beside it and renamed into place
when complete, so a reader never sees half of it and a failed run leaves the old file as it was;
an existing file keeps its permission bits (a new one gets the usual 0666 less the umask). A
symbolic link is followed: the file it points to is replaced and the link stays. Anything else
(a terminal, a FIFO, /dev/null, a character device) is opened and written directly: it is never
replaced by a regular file. The temporary file is removed on every failure path.

Errors writing either are one-line KzqaErrors ("cannot write to standard output: No space left on
device"), never an internal error.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path
from typing import TextIO

from ..errors import KzqaError


class ClosedStream:
    """Stands in for sys.stdin/sys.stdout when the process was started with that descriptor
    closed (`kzqa ask q >&-`): every use is a one-line error instead of silence or an
    AttributeError."""

    def __init__(self, message: str) -> None:
        self.message = message

    def _fail(self, *args, **kwargs):
        raise KzqaError(self.message)

    write = read = readline = fileno = _fail

    def isatty(self) -> bool:
        return False

    def flush(self) -> None:
        pass

    @property
    def buffer(self):
        self._fail()

    @property
    def encoding(self):
        return "utf-8"


def guard_standard_streams() -> None:
    """Replace streams the process was started without (closed descriptors) by ClosedStream."""
    if sys.stdin is None:
        sys.stdin = ClosedStream("cannot read standard input: it is closed")
    if sys.stdout is None:
        sys.stdout = ClosedStream("cannot write the results: standard output is closed")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # nowhere to say anything; the exit status still tells


def write_stdout(text: str, color: bool | None = None) -> None:
    """Write to standard output now (flushed), or fail with one line."""
    import click

    if isinstance(sys.stdout, ClosedStream):
        raise KzqaError("cannot write the results: standard output is closed")
    try:
        click.echo(text, nl=False, color=color)
    except BrokenPipeError:
        raise  # the reader went away (`| head`): the CLI ends quietly
    except OSError as exc:
        _silence_stdout()
        raise KzqaError(f"cannot write to standard output: {exc.strerror or exc}") from None


def _silence_stdout() -> None:
    """After a failed write, nothing more goes to the broken stream (nor at interpreter exit)."""
    with contextlib.suppress(Exception):
        sys.stdout = open(os.devnull, "w")


class OutputFile:
    """`with OutputFile(path) as out: out.write(...)`: see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.requested = Path(path).expanduser()
        self.target = self.requested
        self.tmp: Path | None = None
        self.stream: TextIO | None = None

    def __enter__(self) -> OutputFile:
        path = self.requested
        try:
            if path.is_symlink():
                path = Path(os.path.realpath(path))
            self.target = path
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISDIR(st.st_mode):
                raise KzqaError(f"cannot write {self.requested}: it is a folder")
            if st is not None and not stat.S_ISREG(st.st_mode):
                self.stream = open(path, "w", encoding="utf-8")  # a device or FIFO: write to it
                return self
            mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
            folder = path.parent if str(path.parent) else Path(".")
            self.tmp = folder / f".kzqa-{os.getpid()}-{os.urandom(4).hex()}.tmp"  # short: fits any name
            fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                os.fchmod(fd, mode)
            except OSError:
                pass
            self.stream = os.fdopen(fd, "w", encoding="utf-8")
        except KzqaError:
            self._discard()
            raise
        except OSError as exc:
            self._discard()
            raise KzqaError(f"cannot write {self.requested}: {exc.strerror or exc}") from None
        return self

    def write(self, text: str) -> None:
        try:
            self.stream.write(text)
        except OSError as exc:
            raise KzqaError(f"cannot write {self.requested}: {exc.strerror or exc}") from None

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            self.stream.flush()
            if self.tmp is not None:
                os.fsync(self.stream.fileno())
            self.stream.close()
            self.stream = None
            if self.tmp is not None:
                os.replace(self.tmp, self.target)
                self.tmp = None
        except OSError as exc:
            self._discard()
            raise KzqaError(f"cannot write {self.requested}: {exc.strerror or exc}") from None

    def _discard(self) -> None:
        if self.stream is not None:
            with contextlib.suppress(OSError):
                self.stream.close()
            self.stream = None
        if self.tmp is not None:
            with contextlib.suppress(OSError):
                self.tmp.unlink()
            self.tmp = None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
