"""How the config readers reach files: one small seam, the local file system by default.

`LocalFiles` is what check, deploy, stage and the lab use (the readers' default): bounded,
non-blocking opens, a binary file cut at its first bytes (see `read_text`). `HostFiles`
reads through a `Host` (premortem.host), so diagnose's collectors read the configs of the
machine they were given, a `RecordedHost` given as data included, with the same bounds.
"""

from __future__ import annotations

import errno
import fnmatch
import glob as glob_module
import os
import posixpath
import stat
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from premortem.host import Host

# A NUL byte in a file's first bytes: a binary, not read further.
SNIFF_BYTES = 8192


class ConfigFiles(Protocol):
    """Read-only file access for the config readers."""

    def read_text(self, path: str, limit: int) -> str:
        """A config file's text; OSError when it cannot be read or is over `limit` bytes.
        A binary file (a NUL in its first SNIFF_BYTES) is not read further: its text is
        those first bytes, NUL included, for the caller to refuse."""

    def glob(self, pattern: str) -> list[str]:
        """The paths a shell wildcard names, sorted."""

    def is_dir(self, path: str) -> bool: ...

    def is_file(self, path: str) -> bool: ...

    def exists(self, path: str) -> bool: ...

    def realpath(self, path: str) -> str: ...


def size_text(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size} bytes"


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def not_regular(mode: int) -> str:
    """What a file of st_mode `mode` is when it is not a regular file ("a FIFO", ...);
    "" for a regular file."""
    if stat.S_ISREG(mode):
        return ""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def refuse(what: str) -> OSError:
    """The OSError a reader raises for a file that is not a regular file: its strerror is
    the message ("cannot read: a FIFO, not a regular file")."""
    code = errno.EISDIR if what == "a directory" else errno.EINVAL
    return OSError(code, f"{what}, not a regular file" if what.startswith("a ") else what)


def check_regular(path: str) -> None:
    """OSError unless `path` is a regular file (symlinks followed), without opening it: a
    FIFO with no writer blocks an open, a device's open can act."""
    what = not_regular(os.stat(path).st_mode)
    if what:
        raise refuse(what)


def _cut(data: bytes, limit: int) -> str:
    if len(data) > limit:
        raise OSError(0, f"larger than {size_text(limit)}")
    return data.decode("utf-8", errors="replace")


class LocalFiles:
    """This machine's file system."""

    def read_text(self, path: str, limit: int) -> str:
        # Refused unopened: a FIFO, socket, device or directory (a FIFO with no writer
        # blocks even an open). O_NONBLOCK: a regular file whose read never ends
        # (/proc/kmsg, which `Include /*` reaches) gives what it has instead of hanging.
        check_regular(path)
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as handle:
            what = not_regular(os.fstat(handle.fileno()).st_mode)  # swapped since the stat
            if what:
                raise refuse(what)
            data = handle.read(SNIFF_BYTES) or b""  # None: nothing to read yet (non-blocking)
            if b"\0" not in data and len(data) == SNIFF_BYTES:
                data += handle.read(limit + 1 - SNIFF_BYTES) or b""
        return _cut(data, limit)

    def glob(self, pattern: str) -> list[str]:
        return sorted(glob_module.glob(pattern))

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def is_file(self, path: str) -> bool:
        return os.path.isfile(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)


LOCAL_FILES = LocalFiles()


class HostFiles:
    """The files of a `Host` (LocalHost or a RecordedHost given as data)."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def read_text(self, path: str, limit: int) -> str:
        found = self.host.stat(path)
        if not found.exists:
            raise OSError(errno.ENOENT, found.error or os.strerror(errno.ENOENT))
        if found.kind != "file":
            raise refuse(not_regular(found.mode))  # a recorded "other": no type bits
        first = self.host.read_bytes(path, SNIFF_BYTES)
        if first is None:
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        data = first
        if b"\0" not in first and len(first) == SNIFF_BYTES:
            data = self.host.read_bytes(path, limit + 1) or first
        return _cut(data, limit)

    def glob(self, pattern: str) -> list[str]:
        return sorted(host_glob(self.host, pattern))

    def is_dir(self, path: str) -> bool:
        return self.host.stat(path).kind == "dir"

    def is_file(self, path: str) -> bool:
        return self.host.stat(path).kind == "file"

    def exists(self, path: str) -> bool:
        return self.host.exists(path)

    def realpath(self, path: str) -> str:
        return self.host.realpath(path)


def host_glob(host: Host, pattern: str) -> list[str]:
    """glob.glob over a Host's listdir: absolute patterns, `*?[` per path component, hidden
    names matched only by a pattern starting with a dot (as glob does)."""
    if not pattern.startswith("/"):
        return []
    if not glob_module.has_magic(pattern):
        return [pattern] if host.exists(pattern) else []
    found = ["/"]
    parts = [p for p in pattern.split("/") if p]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following: list[str] = []
        for base in found:
            if not glob_module.has_magic(part):
                candidate = posixpath.join(base, part)
                if host.exists(candidate):
                    following.append(candidate)
                continue
            for name in host.listdir(base) or []:
                if name.startswith(".") and not part.startswith("."):
                    continue
                if fnmatch.fnmatchcase(name, part):
                    candidate = posixpath.join(base, name)
                    if last or host.stat(candidate).kind == "dir":
                        following.append(candidate)
        found = following
    return found
