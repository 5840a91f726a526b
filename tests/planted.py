"""What the privilege tests plant and check: files of another user (`nobody`), root's files
outside any site that an attacker would like root to overwrite, and a snapshot to prove
they were not touched."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

NOBODY = pwd.getpwnam("nobody")


def give_to_nobody(*paths: Path) -> None:
    """Make each path (not what it links to) another user's, as an attacker's would be."""
    for path in paths:
        os.lchown(path, NOBODY.pw_uid, NOBODY.pw_gid)


def outside_files(base: Path) -> Path:
    """Root's files outside any site: an uploads directory and a secret (0600)."""
    root = base / "outside"
    (root / "uploads").mkdir(parents=True)
    (root / "uploads" / "keep.jpg").write_bytes(b"root's")
    (root / "victim").write_text("root's secret\n")
    os.chmod(root / "victim", 0o600)
    return root


def snapshot(tree: Path) -> dict[str, tuple[int, int, int, bytes | str]]:
    """Every entry below `tree` with its owner, mode and content (a link: its target)."""
    found: dict[str, tuple[int, int, int, bytes | str]] = {}
    for path in sorted(tree.rglob("*")):
        st = path.lstat()
        content: bytes | str = b""
        if path.is_symlink():
            content = os.readlink(path)
        elif path.is_file():
            content = path.read_bytes()
        found[str(path.relative_to(tree))] = (st.st_uid, st.st_gid, st.st_mode, content)
    return found
