"""Copy a system config tree (/etc/apache2, /etc/nginx, /etc/php/8.2/fpm) for a private
instance, keeping its symlinks as links: a relative link that leaves the tree (Debian's
nagvis.conf -> ../../nagvis/apache2.conf) is re-pointed at the system file it names, so
the copy includes what the system's server includes instead of a dangling link."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def copy_config_tree(source: str | Path, destination: Path) -> None:
    source = Path(source)
    shutil.copytree(source, destination, symlinks=True)
    top = os.path.realpath(destination)
    for directory, dirs, files in os.walk(destination):
        for name in dirs + files:
            link = Path(directory) / name
            if not link.is_symlink():
                continue
            target = os.readlink(link)
            if os.path.isabs(target):
                continue
            inside = os.path.normpath(os.path.join(directory, target))
            if os.path.commonpath([top, os.path.realpath(directory)]) == top and (
                inside == top or inside.startswith(top + os.sep)
            ):
                continue
            original = source / link.relative_to(destination)
            link.unlink()
            link.symlink_to(os.path.normpath(os.path.join(original.parent, target)))
