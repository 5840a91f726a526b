"""Copy a source tree into a new release, hard-linking files unchanged since the current one.

A WordPress release is thousands of files of which a deploy changes a handful; linking the
unchanged ones from the current release makes the copy fast and the disk cost small. A file is
linked only when its bytes and permission bits equal the current release's copy (compared in
full, not by size and mtime: a wrong link would ship old code). Releases are never edited in
place afterwards (`fix` writes a new file and renames it), so shared inodes stay correct.
Symlinks in SRC are copied as symlinks. Ownership and modes: code belongs to the user running
the deploy (root), directories 0755, files 0644 (0755 when SRC had an execute bit): the web
user reads every file and can change none. Writable paths (uploads) live in shared/.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from premortem.errors import PremortemError
from premortem.ops.deploy.safefs import DIR_FLAGS, copy_bytes
from premortem.ops.deploy.source import Controllers, open_source, refuse_unreadable

CHUNK = 1 << 16


@dataclass
class CopyStats:
    files: int = 0
    linked: int = 0
    copied: int = 0
    symlinks: int = 0
    directories: int = 0
    bytes_copied: int = 0


def check_source(src: Path) -> None:
    """A clear error for a SRC that is missing, not a directory or unreadable."""
    if not src.exists():
        raise PremortemError(f"source {src} does not exist")
    if not src.is_dir():
        raise PremortemError(f"source {src} is not a directory")
    if not os.access(src, os.R_OK | os.X_OK):
        raise PremortemError(f"source {src} is not readable")


def check_web_user(web_user: str) -> None:
    try:
        pwd.getpwnam(web_user)
    except KeyError:
        raise PremortemError(f"web user {web_user!r} does not exist on this host") from None


def release_mode(source_mode: int, is_dir: bool) -> int:
    """rwxr-xr-x for directories and executables, rw-r--r-- otherwise."""
    if is_dir or source_mode & 0o111:
        return 0o755
    return 0o644


@dataclass
class _Copy:
    """One copy in progress: where from and to, what to leave out, what to link from."""

    src: Path
    skip: set[str]
    link_from: Path | None
    stats: CopyStats
    progress: Callable[[int], None] | None
    # Who besides root could change what SRC leads to (source.py): the copy publishes no
    # file they could not read.
    controllers: Controllers

    def fail(self, rel: str, exc: OSError) -> NoReturn:
        where = self.src / rel if rel else self.src
        if exc.errno == errno.ELOOP:
            raise PremortemError(
                f"{where} in the source became a symlink while it was copied; premortem "
                "does not follow it (deploy again from a tree nobody is changing)"
            ) from None
        raise PremortemError(f"cannot read {where} in the source: {exc.strerror}") from None


def copy_release(
    src: Path,
    dest: Path,
    *,
    link_from: Path | None,
    skip: set[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> CopyStats:
    """Copy `src` into the new directory `dest`. `skip` holds relative paths (shared paths) not
    to copy: they become links to shared/ afterwards. Unreadable entries raise PremortemError.

    SRC may belong to another user, who could swap a file or directory for a symlink while
    root copies it: SRC is read through directory descriptors, each entry opened with
    O_NOFOLLOW, so a symlink is copied as a symlink and never read through (a release must
    not carry /etc/shadow as a 0644 file). The path to SRC is opened by source.py, which
    says who else could have chosen what it leads to; a file they could not read stops the
    copy (PremortemError)."""
    check_source(src)
    try:
        top = open_source(src)
    except OSError as exc:
        raise PremortemError(f"cannot open the source {src}: {exc.strerror}") from None
    try:
        job = _Copy(src, skip or set(), link_from, CopyStats(), progress, top.controllers)
        dest.mkdir(mode=0o755)
        _copy_dir(job, top.fd, "", dest)
    finally:
        top.close()
    return job.stats


def _copy_dir(job: _Copy, dir_fd: int, rel_dir: str, out_dir: Path) -> None:
    try:
        with os.scandir(dir_fd) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as exc:
        job.fail(rel_dir, exc)
    for entry in entries:
        rel = os.path.join(rel_dir, entry.name)
        if rel in job.skip:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            job.fail(rel, exc)
        if stat.S_ISDIR(st.st_mode):
            try:
                child = os.open(entry.name, DIR_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                job.fail(rel, exc)
            try:
                (out_dir / entry.name).mkdir(mode=0o755)
                os.chmod(out_dir / entry.name, 0o755)
                job.stats.directories += 1
                _copy_dir(job, child, rel, out_dir / entry.name)
            finally:
                os.close(child)
        elif stat.S_ISLNK(st.st_mode):
            # Content of the release, copied as it is (never followed).
            os.symlink(os.readlink(entry.name, dir_fd=dir_fd), out_dir / entry.name)
            job.stats.symlinks += 1
        elif stat.S_ISREG(st.st_mode):
            _copy_file(job, dir_fd, entry.name, rel, out_dir / entry.name)
        # sockets, fifos, devices have no place in a release


def _copy_file(job: _Copy, dir_fd: int, name: str, rel: str, target: Path) -> None:
    try:
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
        )
    except OSError as exc:
        job.fail(rel, exc)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return  # swapped for a fifo or device while listed: nothing to copy
        if job.controllers:
            refuse_unreadable(job.src, rel, st, job.controllers)
        stats = job.stats
        mode = release_mode(st.st_mode, False)
        stats.files += 1
        if job.progress is not None and stats.files % 500 == 0:
            job.progress(stats.files)
        previous = _link_candidate(job.link_from, rel)
        try:
            same = _same_file(fd, st, previous, mode) if previous is not None else None
            if previous is not None and same is not None and _link(previous, target, same):
                stats.linked += 1
                return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EMLINK, errno.EPERM):
                raise
        try:
            _copy_fd(fd, target, mode)
        except OSError as exc:
            job.fail(rel, exc)
        stats.copied += 1
        stats.bytes_copied += st.st_size
    finally:
        os.close(fd)


def _link_candidate(link_from: Path | None, rel: str) -> Path | None:
    """The current release's copy of `rel`, only when no directory on the way there is a
    symlink (a hard link must not reach a file outside the release)."""
    if link_from is None:
        return None
    previous = link_from / rel
    real_dir = os.path.realpath(previous.parent)
    if real_dir != os.path.join(os.path.realpath(link_from), os.path.dirname(rel)).rstrip("/"):
        return None
    return previous


def _link(previous: Path, target: Path, same: os.stat_result) -> bool:
    """Hard-link `previous` as `target` if it is still the file compared (`same`): a link
    swapped in meanwhile is not followed, and what was linked is checked; False (nothing
    left at `target`) when it is not that file."""
    os.link(previous, target, follow_symlinks=False)
    linked = os.stat(target, follow_symlinks=False)
    # The type and owner too: a freed inode number is reused at once (by a planted link).
    if _identity(linked) == _identity(same) and stat.S_ISREG(linked.st_mode):
        return True
    os.unlink(target)
    return False


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_mode, st.st_uid, st.st_gid, st.st_size)


def _same_file(fd: int, st: os.stat_result, previous: Path, mode: int) -> os.stat_result | None:
    """The stat of `previous` when it is a regular file of ours with `mode` and the bytes
    of `fd`, else None."""
    try:
        other = os.open(previous, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        pst = os.fstat(other)
        if not stat.S_ISREG(pst.st_mode) or stat.S_IMODE(pst.st_mode) != mode:
            return None
        if (pst.st_uid, pst.st_gid) != (os.getuid(), os.getgid()) or pst.st_size != st.st_size:
            return None
        offset = 0
        while True:
            a, b = os.pread(fd, CHUNK, offset), os.pread(other, CHUNK, offset)
            if a != b:
                return None
            if not a:
                return pst
            offset += len(a)
    finally:
        os.close(other)


def _copy_fd(fd: int, target: Path, mode: int) -> None:
    """Copy the open file `fd` to the new file `target` (never an existing one or a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    out = os.open(target, flags, 0o600)
    try:
        copy_bytes(fd, out)
        os.fchmod(out, mode)
    finally:
        os.close(out)
