"""Link the site's shared files and directories (`<site>/shared/<path>`) into a release.

Shared paths (wp-config.php and wp-content/uploads by default; `shared_paths` in
premortem.toml) hold what must survive deploys: secrets and user uploads. As Deployer does, a
file or directory that SRC ships at a shared path is not used: the release gets a symlink to
`shared/<path>` instead. When `shared/<path>` does not exist yet, SRC's copy seeds it once,
keeping the owner, group and mode of every file and directory in it: shared/ holds what the
web server must read (a root:www-data 0640 wp-config.php) or write (www-data's uploads), and
a copy made by root would otherwise belong to root:root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.deploy.keepcopy import copy_keeping_owners
from premortem.ops.deploy.safefs import DIR_FLAGS, open_under, refuse_untrusted_dir


@dataclass
class SharedResult:
    linked: list[str] = field(default_factory=list)
    seeded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def normalise_shared_path(path: str) -> str:
    clean = os.path.normpath(path.strip("/"))
    if clean in ("", ".") or clean.startswith(".."):
        raise PremortemError(f"shared path {path!r} must be a relative path inside the release")
    return clean


def refuse_symlinked_parents(tree: Path, paths: list[str], what: str) -> None:
    """PremortemError when a directory leading to a shared path in `tree` (SRC, a docroot)
    is a symlink: the release would carry it, and linking the shared path there would
    remove or create files wherever it points. Checked when planning; `link_shared`
    refuses it again, race-free, when it writes."""
    for rel in paths:
        current = tree
        for part in Path(rel).parent.parts:
            current = current / part
            if current.is_symlink():
                inside = current.relative_to(tree)
                raise PremortemError(
                    f"{what} {tree}: {inside} is a symlink (-> {os.readlink(current)}) and the "
                    f"shared path {rel} lies under it, so linking {rel} into the release would "
                    f"write through that symlink. Ship {inside} as a directory, or take {rel} "
                    "out of shared_paths"
                )
            if not current.is_dir():
                break


def link_shared(release: Path, src: Path, shared_dir: Path, paths: list[str]) -> SharedResult:
    """Create `release/<p>` -> `shared_dir/<p>` for each shared path `p`.

    Never through a symlink: the directories leading to `<p>` in the release (SRC's, or an
    adopted docroot's, possibly another user's) are opened one by one with O_NOFOLLOW and
    the link is made inside the last one; a symlink on the way (SRC shipping `wp-content ->
    /somewhere`) is refused before anything is removed or created there. A seed copy goes
    only into a directory of shared/ that root alone can write."""
    result = SharedResult()
    for raw in paths:
        rel = normalise_shared_path(raw)
        target = shared_dir / rel
        parent = Path(os.path.dirname(rel))
        # Refused before shared/ is seeded: nothing is written for a release that cannot link.
        with _opened(release, parent, create=False, doing=f"to link shared/{rel} into"):
            pass
        if not os.path.lexists(target):
            if not _seed(src, shared_dir, rel):
                result.missing.append(rel)
                continue
            result.seeded.append(rel)
        with _opened(release, parent, create=True, doing=f"to link shared/{rel} into") as where:
            assert where is not None  # made when missing
            _replace_by_link(where, os.path.basename(rel), target, release / parent)
        result.linked.append(rel)
    return result


@contextlib.contextmanager
def _opened(base: Path, rel: Path, *, create: bool, doing: str) -> Iterator[int | None]:
    """The directory `base/rel`, each component opened with O_NOFOLLOW; None when a
    component is missing and not `create`d. PremortemError for a symlink on the way."""
    try:
        top = os.open(base, DIR_FLAGS)
    except OSError as exc:
        raise PremortemError(f"cannot open {base}: {exc.strerror}") from None
    try:
        if not create and not _components_exist(top, rel):
            fd = None
        else:
            fd = open_under(top, rel, doing=f"{doing} {base}", create=create)
    finally:
        os.close(top)
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


def _components_exist(dir_fd: int, rel: Path) -> bool:
    """Whether each prefix of `rel` below `dir_fd` exists (as anything: lstat)."""
    prefix = Path()
    for part in rel.parts:
        prefix /= part
        try:
            os.stat(prefix, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
    return True


def _seed(src: Path, shared_dir: Path, rel: str) -> bool:
    """Copy SRC's `rel` to shared/ (owners kept) when SRC has one; False when it has none."""
    parent = Path(os.path.dirname(rel))
    with _opened(src, parent, create=False, doing=f"to seed shared/{rel} from") as fd:
        if fd is None:
            return False
        try:
            st = os.stat(os.path.basename(rel), dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
    if stat.S_ISLNK(st.st_mode):
        return False
    with _opened(shared_dir, parent, create=True, doing=f"to seed shared/{rel} in"):
        pass
    refuse_untrusted_dir(shared_dir / parent, f"seeding shared/{rel} in")
    copy_keeping_owners(src / rel, shared_dir / rel)
    return True


def _replace_by_link(dir_fd: int, name: str, target: Path, link_dir: Path) -> None:
    """In the open directory `dir_fd`, `name` becomes a relative symlink to `target`."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        st = None
    if st is not None:
        # SRC's own copy (the copier skips shared paths, but a parent symlink may
        # have brought one in): the shared one wins.
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)
    # Relative, as the lab makes them: .partial-<name> and <name> sit at the same depth.
    os.symlink(os.path.relpath(target, link_dir), name, dir_fd=dir_fd)
