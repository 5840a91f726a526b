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
import filecmp
import os
import pwd
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from premortem.errors import PremortemError


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


def _same_file(a: str, b: str, mode: int) -> bool:
    try:
        st = os.stat(b, follow_symlinks=False)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != mode:
        return False
    if st.st_uid != os.getuid() or st.st_gid != os.getgid():
        return False
    return filecmp.cmp(a, b, shallow=False)


def release_mode(source_mode: int, is_dir: bool) -> int:
    """rwxr-xr-x for directories and executables, rw-r--r-- otherwise."""
    if is_dir or source_mode & 0o111:
        return 0o755
    return 0o644


def copy_release(
    src: Path,
    dest: Path,
    *,
    link_from: Path | None,
    skip: set[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> CopyStats:
    """Copy `src` into the new directory `dest`. `skip` holds relative paths (shared paths) not
    to copy: they become links to shared/ afterwards. Unreadable entries raise PremortemError."""
    check_source(src)
    stats = CopyStats()
    skip = skip or set()
    dest.mkdir(mode=0o755)

    def fail(exc: OSError) -> None:
        raise PremortemError(f"cannot read {exc.filename} in the source: {exc.strerror}")

    for dirpath, dirnames, filenames in os.walk(src, onerror=fail, followlinks=False):
        rel_dir = os.path.relpath(dirpath, src)
        rel_dir = "" if rel_dir == "." else rel_dir
        out_dir = dest / rel_dir
        kept: list[str] = []
        for name in dirnames:
            rel = os.path.join(rel_dir, name)
            full = os.path.join(dirpath, name)
            if rel in skip:
                continue
            if os.path.islink(full):
                # os.walk lists symlinks to directories as directories; copy the link itself.
                filenames.append(name)
                continue
            (out_dir / name).mkdir(mode=0o755)
            os.chmod(out_dir / name, 0o755)
            stats.directories += 1
            kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            rel = os.path.join(rel_dir, name)
            if rel in skip:
                continue
            source = os.path.join(dirpath, name)
            target = out_dir / name
            try:
                st = os.lstat(source)
            except OSError as exc:
                fail(exc)
                raise
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(source), target)
                stats.symlinks += 1
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # sockets, fifos, devices have no place in a release
            mode = release_mode(st.st_mode, False)
            stats.files += 1
            if progress is not None and stats.files % 500 == 0:
                progress(stats.files)
            previous = os.path.join(link_from, rel) if link_from is not None else None
            try:
                if previous is not None and _same_file(source, previous, mode):
                    os.link(previous, target)
                    stats.linked += 1
                    continue
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EMLINK, errno.EPERM):
                    raise
            try:
                shutil.copyfile(source, target)
            except OSError as exc:
                fail(exc)
            os.chmod(target, mode)
            stats.copied += 1
            stats.bytes_copied += st.st_size
    return stats
