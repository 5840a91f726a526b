"""Writing as root in trees other users can write to, without being redirected by a symlink.

premortem runs as root; the site's web user (www-data) writes uploads under shared/, a
developer owns the SRC tree a deploy copies, and an adopted release keeps its docroot's
owners. Any of them can plant a symlink where premortem is about to write, chmod, chown or
delete, hoping root follows it out of the site (`wp-content -> /etc`). Two rules keep root's
writes where they belong:

- **Directories premortem writes in by name must be root's alone** (`trusted_dir_problem`):
  the site root and every directory above it, releases/, shared/, the state dir and the
  stage dir, owned by root and writable by nobody else (a sticky bit, as on /tmp, is fine).
  Only root can put a symlink there, so paths through them are what they say. A site
  another user could rearrange is refused with a message naming the directory.
- **Below that, in directories others own, premortem works through directory descriptors**:
  each component is opened with O_NOFOLLOW (`open_dir_nofollow`, `open_under`), files are
  created with O_EXCL|O_NOFOLLOW and renamed inside the open directory (`atomic_write`), and
  owners and modes are set on open descriptors. A symlink found where a directory or file
  should be is refused (or, when it is the entry being replaced, replaced), never followed.

Symlinks that are a release's content (`alias.php -> index.php`) are copied as symlinks;
premortem only never writes *through* them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from premortem.errors import PremortemError

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _mode_problem(path: Path, st: os.stat_result) -> str | None:
    if st.st_uid not in (0, os.geteuid()):
        return f"{path} belongs to uid {st.st_uid}"
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        return f"{path} is writable by its group or by everyone"
    return None


def _chain(path: Path) -> list[Path]:
    return [path, *path.parents]


def trusted_dir_problem(path: Path) -> str | None:
    """As root: why another user could change what `path` (a directory) leads to, or None
    when only root can (it and every directory above it, as written and as resolved, belong
    to root and are writable by no one else, sticky directories aside). Not root: None
    (premortem can then write nowhere its user could not)."""
    if os.geteuid() != 0:
        return None
    written = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path))
    for directory in _chain(written):
        with contextlib.suppress(OSError):
            st = os.lstat(directory)
            if stat.S_ISLNK(st.st_mode) and st.st_uid not in (0, os.geteuid()):
                return f"{directory} is a symlink owned by uid {st.st_uid}"
    seen: set[Path] = set()
    for directory in [*_chain(written), *_chain(real)]:
        if directory in seen:
            continue
        seen.add(directory)
        try:
            st = os.stat(directory)
        except FileNotFoundError:
            continue  # not made yet: its parent is checked, and premortem makes it
        except OSError as exc:
            return f"{directory} cannot be checked ({exc.strerror})"
        problem = _mode_problem(directory, st)
        if problem:
            return problem
    return None


def refuse_untrusted_dir(path: Path, what: str) -> None:
    """PremortemError when another user could redirect root's writes in `path`."""
    problem = trusted_dir_problem(path)
    if problem:
        raise PremortemError(
            f"refusing to write in {what} {path}: {problem}, so another user could put a "
            "symlink there and make premortem (as root) write, chmod or delete outside the "
            "site. Make it and the directories above it root's (chown root, chmod go-w)"
        )


def open_dir_nofollow(path: Path) -> int:
    """A descriptor of the directory `path` (absolute), opened from / one component at a time
    with O_NOFOLLOW: PremortemError when a component is a symlink or not a directory."""
    current = os.open("/", DIR_FLAGS)
    try:
        parts = Path(os.path.normpath(path.absolute())).parts[1:]
        following = open_under(current, Path(*parts), doing=f"to write in {path}")
    finally:
        os.close(current)
    return following


def open_under(dir_fd: int, rel: Path, *, doing: str, create: bool = False) -> int:
    """A new descriptor of the directory `rel` below the open directory `dir_fd`, each
    component opened with O_NOFOLLOW (made, 0755, when `create` and missing).
    PremortemError ("refusing `doing`: ...") when a component is a symlink, is not a
    directory or cannot be opened."""
    current = os.dup(dir_fd)
    try:
        for part in rel.parts:
            if part == "..":
                raise PremortemError(f"refusing {doing}: the path climbs with ..")
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=current)
            try:
                following = os.open(part, DIR_FLAGS, dir_fd=current)
            except OSError as exc:
                raise PremortemError(
                    f"refusing {doing}: {part} {_why(current, part, exc)}"
                ) from None
            os.close(current)
            current = following
    except BaseException:
        os.close(current)
        raise
    return current


def _why(dir_fd: int, name: str, exc: OSError) -> str:
    """Why `name` in `dir_fd` could not be opened as a directory without following links."""
    with contextlib.suppress(OSError):
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            return "is a symlink; premortem does not write or read through one"
    if exc.errno in (errno.ENOTDIR, errno.ELOOP):
        return "is not a directory"
    return f"cannot be opened ({exc.strerror})"


def atomic_write(path: Path, data: bytes, *, mode: int, uid: int, gid: int) -> None:
    """Write `data` to `path` by temp file + rename, with the given owner and mode.

    The directory is opened one component at a time without following symlinks, and the
    temp file is created and renamed inside that open directory, so a directory swapped for
    a symlink (even after a plan checked the path) cannot send the write elsewhere: it is
    refused. A symlink at `path` itself is replaced, not followed."""
    directory = open_dir_nofollow(path.parent)
    try:
        write_in(directory, path.name, data, mode=mode, uid=uid, gid=gid)
    finally:
        os.close(directory)


def write_in(
    dir_fd: int, name: str, data: bytes, *, mode: int, uid: int = -1, gid: int = -1
) -> None:
    """Atomically replace the entry `name` of the open directory `dir_fd` by a file holding
    `data` (temp file created O_EXCL|O_NOFOLLOW, fsynced, renamed over it)."""
    tmp = f".{name}.premortem-{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            if uid != -1 or gid != -1:
                os.fchown(out.fileno(), uid, gid)
            os.fsync(out.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def write_file_nofollow(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Atomically replace `path` (in a directory only root can write: see
    `refuse_untrusted_dir`) by a root-owned file; a symlink there is replaced, not followed."""
    fd = os.open(path.parent, DIR_FLAGS)
    try:
        write_in(fd, path.name, data, mode=mode)
    finally:
        os.close(fd)


def copy_bytes(src_fd: int, dst_fd: int, chunk: int = 1 << 22) -> None:
    """Copy the open regular file `src_fd` (from its start) to the open file `dst_fd`."""
    offset = 0
    while True:
        try:
            sent = os.sendfile(dst_fd, src_fd, offset, chunk)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS):
                raise
            sent = os.write(dst_fd, os.pread(src_fd, 1 << 16, offset))  # no sendfile here
        if sent == 0:
            return
        offset += sent
