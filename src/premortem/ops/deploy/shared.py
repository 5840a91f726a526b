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

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from premortem.errors import PremortemError


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


def link_shared(release: Path, src: Path, shared_dir: Path, paths: list[str]) -> SharedResult:
    """Create `release/<p>` -> `shared_dir/<p>` for each shared path `p`."""
    result = SharedResult()
    for raw in paths:
        rel = normalise_shared_path(raw)
        target = shared_dir / rel
        link = release / rel
        shipped = src / rel
        if not os.path.lexists(target):
            if os.path.lexists(shipped) and not shipped.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                copy_keeping_owners(shipped, target)
                result.seeded.append(rel)
            else:
                result.missing.append(rel)
                continue
        if os.path.lexists(link):
            # SRC's own copy (the copier skips shared paths, but a parent symlink may
            # have brought one in): the shared one wins.
            if link.is_dir() and not link.is_symlink():
                shutil.rmtree(link)
            else:
                link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        # Relative, as the lab makes them: .partial-<name> and <name> sit at the same depth.
        os.symlink(os.path.relpath(target, link.parent), link)
        result.linked.append(rel)
    return result


def copy_keeping_owners(source: Path, target: Path, skip: frozenset[str] = frozenset()) -> None:
    """Copy the file or tree `source` to the new path `target` with the owner, group and mode
    of every entry (shutil keeps modes, not owners), leaving out the relative paths in `skip`.
    Built beside `target` and renamed into place whole, so an interrupted copy never looks
    like a seeded shared path (or a complete release)."""
    building = target.with_name(f".{target.name}.seeding")
    if building.is_dir() and not building.is_symlink():
        shutil.rmtree(building)
    elif os.path.lexists(building):
        building.unlink()
    if source.is_dir():
        shutil.copytree(source, building, symlinks=True, ignore=_skipping(source, skip))
    else:
        shutil.copy2(source, building)
    _copy_owners(source, building)
    os.replace(building, target)


def _skipping(source: Path, skip: frozenset[str]) -> Callable[[str, list[str]], set[str]]:
    """A copytree `ignore` leaving out the paths in `skip` (relative to `source`)."""

    def ignored(directory: str, names: list[str]) -> set[str]:
        rel_dir = os.path.relpath(directory, source)
        return {n for n in names if os.path.normpath(os.path.join(rel_dir, n)) in skip}

    return ignored


def _copy_owners(source: Path, copy: Path) -> None:
    # Walk the copy (what was copied, skipped paths left out), taking each entry's owner
    # and mode from the source.
    entries = [Path("")]
    if copy.is_dir() and not copy.is_symlink():
        for dirpath, dirnames, filenames in os.walk(copy):
            rel_dir = Path(dirpath).relative_to(copy)
            entries += [rel_dir / name for name in (*dirnames, *filenames)]
    for rel in entries:
        st = os.lstat(source / rel)
        os.lchown(copy / rel, st.st_uid, st.st_gid)
        if not stat.S_ISLNK(st.st_mode):
            # chown clears setuid/setgid bits: put the whole mode back after it.
            os.chmod(copy / rel, stat.S_IMODE(st.st_mode))
