"""Copy a file or tree keeping every entry's owner, group, mode and times, as root, safely.

Seeding shared/ from SRC (a developer's tree) and adopt's copy of a docroot (the web user's)
copy what another user can change while root reads it: an entry swapped for a symlink to
/etc/shadow must not be read through, and must not end up in a copy that user owns. So:
- the source is read through directory descriptors, each entry opened with O_NOFOLLOW; a
  file that became a symlink is refused ("changed while it was copied"), never followed;
- each entry's owner and mode are taken from the descriptor actually read (fstat), not
  from a second look at the path;
- each directory of the copy is made by root 0700, filled, and only then given its owner
  and mode (bottom-up): nobody else can put a symlink into the copy while premortem is
  still writing in it.
The copy is built as `.<name>.seeding` beside `target` and renamed into place whole.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from premortem.errors import PremortemError
from premortem.ops.deploy.safefs import DIR_FLAGS, copy_bytes

FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class _Job:
    source: Path
    skip: frozenset[str]

    def fail(self, rel: str, exc: OSError) -> NoReturn:
        where = self.source / rel if rel else self.source
        if exc.errno == errno.ELOOP:
            raise PremortemError(
                f"{where} changed while it was copied (it is now a symlink); premortem does "
                "not follow it: try again once nothing is changing it"
            ) from None
        raise PremortemError(f"cannot copy {where}: {exc.strerror}") from None


def copy_keeping_owners(source: Path, target: Path, skip: frozenset[str] = frozenset()) -> None:
    """Copy the file or tree `source` to the new path `target` (its directory: root's alone)
    with the owner, group, mode and times of every entry, leaving out the relative paths in
    `skip`. Built beside `target` and renamed into place whole, so an interrupted copy never
    looks like a seeded shared path (or a complete release)."""
    building = f".{target.name}.seeding"
    job = _Job(source, skip)
    parent = os.open(target.parent, DIR_FLAGS)
    try:
        _remove(parent, building)
        try:
            source_parent = os.open(source.parent, DIR_FLAGS)
        except OSError as exc:
            job.fail("", exc)
        try:
            top = os.stat(source.name, dir_fd=source_parent, follow_symlinks=False)
            if stat.S_ISLNK(top.st_mode):
                raise PremortemError(f"{source} is a symlink: premortem does not copy through it")
            _copy(job, source_parent, source.name, parent, building, "")
        except FileNotFoundError as exc:
            job.fail("", exc)
        finally:
            os.close(source_parent)
        os.replace(building, target.name, src_dir_fd=parent, dst_dir_fd=parent)
    finally:
        os.close(parent)


def _remove(dir_fd: int, name: str) -> None:
    """Remove what an interrupted copy left at `name` (never following a link)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _copy(job: _Job, src_dir: int, name: str, dst_dir: int, dst_name: str, rel: str) -> None:
    try:
        st = os.stat(name, dir_fd=src_dir, follow_symlinks=False)
    except OSError as exc:
        job.fail(rel, exc)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(name, dir_fd=src_dir), dst_name, dir_fd=dst_dir)
        os.chown(dst_name, st.st_uid, st.st_gid, dir_fd=dst_dir, follow_symlinks=False)
    elif stat.S_ISDIR(st.st_mode):
        _copy_dir(job, src_dir, name, dst_dir, dst_name, rel)
    elif stat.S_ISREG(st.st_mode):
        _copy_file(job, src_dir, name, dst_dir, dst_name, rel)
    # sockets, fifos and devices are not copied


def _copy_dir(job: _Job, src_dir: int, name: str, dst_dir: int, dst_name: str, rel: str) -> None:
    try:
        src = os.open(name, DIR_FLAGS, dir_fd=src_dir)
    except OSError as exc:
        job.fail(rel, exc)
    try:
        st = os.fstat(src)
        os.mkdir(dst_name, 0o700, dir_fd=dst_dir)
        dst = os.open(dst_name, DIR_FLAGS, dir_fd=dst_dir)
        try:
            try:
                with os.scandir(src) as listing:
                    names = sorted(entry.name for entry in listing)
            except OSError as exc:
                job.fail(rel, exc)
            for child in names:
                child_rel = os.path.join(rel, child) if rel else child
                if child_rel not in job.skip:
                    _copy(job, src, child, dst, child, child_rel)
            _hand_over(dst, st)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _copy_file(job: _Job, src_dir: int, name: str, dst_dir: int, dst_name: str, rel: str) -> None:
    try:
        src = os.open(name, FILE_FLAGS, dir_fd=src_dir)
    except OSError as exc:
        job.fail(rel, exc)
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode):
            return  # became a fifo or device while listed: not copied
        dst = os.open(dst_name, NEW_FILE_FLAGS, 0o600, dir_fd=dst_dir)
        try:
            copy_bytes(src, dst)
            _hand_over(dst, st)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _hand_over(fd: int, st: os.stat_result) -> None:
    """The copy gets the source's owner, group, mode (after chown, which clears setuid and
    setgid bits) and times."""
    os.fchown(fd, st.st_uid, st.st_gid)
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    with contextlib.suppress(OSError):
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
