"""Link the site's shared files and directories (`<site>/shared/<path>`) into a release.

Shared paths (wp-config.php and wp-content/uploads by default; `shared_paths` in
premortem.toml) hold what must survive deploys: secrets and user uploads. As Deployer does, a
file or directory that SRC ships at a shared path is not used: the release gets a symlink to
`shared/<path>` instead. When `shared/<path>` does not exist yet, SRC's copy seeds it once.
"""

from __future__ import annotations

import os
import shutil
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
                if shipped.is_dir():
                    shutil.copytree(shipped, target, symlinks=True)
                else:
                    shutil.copy2(shipped, target)
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
