"""Opening a deploy's SRC as root without publishing what its controllers could not read.

A deploy copies SRC into a release whose files are 0644: the web user reads them all. SRC is
usually another user's tree (a developer's checkout), and anyone who can change a directory
on the way to it (its owner, a group or everyone, when it is writable by them) decides what
the path SRC leads to: `/home/dev/site` can become a symlink to `/root` the moment root
opens it. Entries below SRC are never followed (copy.py opens each with O_NOFOLLOW); the
path *to* SRC is the way left. Two rules close it:

- SRC is opened from `/` one component at a time, symlinks followed by hand (at most 40,
  as the kernel does), and every directory passed through is looked at on its open
  descriptor: whoever could rearrange it is a **controller** of SRC (SRC's own owner too).
  What premortem then reads is exactly the tree it looked at.
- When SRC has controllers, every file the copy publishes must be one they could all read
  already; otherwise the deploy stops and names the file, the user and the directory that
  gave them the say. A path only root controls (a root-owned checkout in /srv) has none and
  copies as before. Not root: nothing to check (premortem reads only what its user can).

Example: `/srv/sites` is `root:devs 2775`, so any member of devs can swap
`/srv/sites/shop` for a symlink to `/etc`; `premortem deploy /srv/sites/shop` then refuses
`/etc/shadow` ("not readable by group devs") instead of shipping it world-readable.
Fix: deploy from a path only root and SRC's owner can change, or make the file readable by
them if it belongs in the release.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import grp
import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.deploy.safefs import DIR_FLAGS

MAX_SYMLINKS = 40  # the kernel's own bound (ELOOP after 40 links in one lookup)
SWAP_RETRIES = 20  # an entry swapped between lstat and open is looked at again


@dataclass
class Controllers:
    """Who besides root could change what SRC leads to, each with the directory why."""

    users: dict[int, Path] = field(default_factory=dict)
    groups: dict[int, Path] = field(default_factory=dict)
    everyone: Path | None = None

    def __bool__(self) -> bool:
        return bool(self.users or self.groups or self.everyone)

    def note(self, directory: Path, st: os.stat_result) -> None:
        """Who can rearrange `directory`'s entries (a sticky bit, as on /tmp, protects the
        entries of others: only their owners, noted where they are passed, can)."""
        if st.st_uid != 0:
            self.users.setdefault(st.st_uid, directory)
        if st.st_mode & stat.S_ISVTX:
            return
        if st.st_mode & stat.S_IWGRP:
            self.groups.setdefault(st.st_gid, directory)
        if st.st_mode & stat.S_IWOTH and self.everyone is None:
            self.everyone = directory

    def who_cannot_read(self, st: os.stat_result) -> tuple[str, Path] | None:
        """(who, the directory that gave them a say) for a controller that could not read a
        file of these owner and mode bits; None when all of them could."""
        mode = st.st_mode
        if mode & stat.S_IROTH:
            return None
        if self.everyone is not None:
            return "everyone", self.everyone
        for gid, directory in self.groups.items():
            if not (st.st_gid == gid and mode & stat.S_IRGRP):
                return f"group {_group_name(gid)}", directory
        for uid, directory in self.users.items():
            if st.st_uid == uid and mode & stat.S_IRUSR:
                continue
            if mode & stat.S_IRGRP and st.st_gid in _groups_of(uid):
                continue
            return f"uid {uid} ({_user_name(uid)})", directory
        return None


@dataclass
class OpenSource:
    """SRC opened for reading: its descriptor and its controllers (empty: root's alone)."""

    fd: int
    controllers: Controllers

    def close(self) -> None:
        os.close(self.fd)


def open_source(src: Path) -> OpenSource:
    """Open the directory `src` as described in the module docstring. OSError as the kernel
    would give it (ENOENT, ENOTDIR, ELOOP, EACCES...)."""
    controllers = Controllers()
    watching = os.geteuid() == 0
    stack = [(Path("/"), os.open("/", DIR_FLAGS))]
    try:
        if watching:
            controllers.note(Path("/"), os.fstat(stack[0][1]))
        # Not abspath(): it drops "x/.." by the text, where the kernel goes up from where x
        # leads when x is a link.
        todo = list(Path(os.getcwd(), src).parts[1:])
        links = 0
        retries = 0
        while todo:
            name = todo.pop(0)
            here, here_fd = stack[-1]
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop()[1])
                continue
            st = os.stat(name, dir_fd=here_fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(src))
                if watching and st.st_uid != 0:
                    # The owner of a link can re-point it (it lives in a noted directory).
                    controllers.users.setdefault(st.st_uid, here / name)
                target = os.readlink(name, dir_fd=here_fd)
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop()[1])
                todo[:0] = [part for part in Path(target).parts if part not in ("/", ".")]
                continue
            try:
                opened = os.open(name, DIR_FLAGS, dir_fd=here_fd)
            except OSError as exc:
                # Swapped for a symlink between the look and the open: look again.
                if exc.errno == errno.ELOOP and retries < SWAP_RETRIES:
                    retries += 1
                    todo.insert(0, name)
                    continue
                raise
            stack.append((here / name, opened))
            if watching:
                controllers.note(here / name, os.fstat(opened))
        fd = os.dup(stack[-1][1])
    finally:
        for _, opened_fd in stack:
            os.close(opened_fd)
    return OpenSource(fd, controllers)


def refuse_unreadable(src: Path, rel: str, st: os.stat_result, controllers: Controllers) -> None:
    """PremortemError when a controller of SRC could not read the file `rel` (stat `st`)."""
    found = controllers.who_cannot_read(st)
    if found is None:
        return
    who, directory = found
    raise PremortemError(
        f"deploy refused: {src / rel} is not readable by {who}, who can change {directory} "
        "on the way to the source; the release would make it readable by the web user. "
        "Deploy from a path only root and the source's owner can change, or make the file "
        "readable by them if it belongs in the release"
    )


def _user_name(uid: int) -> str:
    with contextlib.suppress(KeyError):
        return pwd.getpwuid(uid).pw_name
    return "no such user"


def _group_name(gid: int) -> str:
    with contextlib.suppress(KeyError):
        return grp.getgrgid(gid).gr_name
    return str(gid)


@functools.lru_cache(maxsize=64)  # asked per file the copy looks at: once per user is enough
def _groups_of(uid: int) -> frozenset[int]:
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return frozenset()
    return frozenset(os.getgrouplist(entry.pw_name, entry.pw_gid))
