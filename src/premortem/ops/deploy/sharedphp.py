"""Refuse a deploy whose shared PHP files compute paths from `__DIR__` or `__FILE__`.

A shared file is linked into each release (`release/wp-config.php -> ../../shared/...`), and
PHP resolves symlinks for `__DIR__` and `__FILE__`: in the shared wp-config.php they name
`<site>/shared`, not the release. `define('WP_CONTENT_DIR', __DIR__ . '/wp-content')` then
points WordPress at `shared/wp-content` (uploads only, no theme): every page answers 200 with
an empty body (issue #11).

Why refuse rather than copy or hard-link the file into each release (which would keep the
release's `__DIR__`): a shared file is where secrets live, edited in one place. A copy per
release makes an edit of shared/ (a rotated database password, a fix) take effect only at the
next deploy, and a rollback bring back the old credentials; a hard link is silently detached
by any editor or `sed -i` that writes a new file and renames it. Keeping the link and refusing
the one construct that breaks under it keeps the layout operators know (Capistrano, Deployer).

Not refused: `define('ABSPATH', __DIR__ . '/')` in a WordPress release (wp-load.php defines
ABSPATH as the release directory before it loads wp-config.php, so this define never takes
effect), and `__DIR__ . '/name'` when `name` is shared too, or is in shared/ and not in the
release (the link resolves there, as meant).
Lines that start as comments are skipped; the check reads lines, it does not run PHP.
"""

from __future__ import annotations

import os
from pathlib import Path

from premortem.errors import PremortemError
from premortem.php.dirconst import DirUse, dir_constant_uses


def shared_php_uses(shared_dir: Path, src: Path, shared_paths: list[str]) -> list[DirUse]:
    """`__DIR__`/`__FILE__` uses in the shared PHP files a release of `src` would link: the
    file in shared/, or SRC's copy when that one will seed it."""
    wordpress = (src / "wp-load.php").is_file()
    uses: list[DirUse] = []
    for rel in shared_paths:
        if not rel.endswith(".php"):
            continue
        source = shared_dir / rel if os.path.lexists(shared_dir / rel) else src / rel
        try:
            text = source.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # missing: nothing is linked; unreadable: the gate and stage say so
        folder = os.path.dirname(rel)

        def sibling_is_shared(name: str, folder: str = folder) -> bool:
            sibling = os.path.normpath(os.path.join(folder, name))
            if sibling in shared_paths:
                return True
            in_shared = os.path.lexists(shared_dir / sibling)
            return in_shared and not os.path.lexists(src / sibling)

        uses += dir_constant_uses(
            text, f"shared/{rel}", wordpress=wordpress, sibling_is_shared=sibling_is_shared
        )
    return uses


def refuse_shared_dir_constants(shared_dir: Path, src: Path, shared_paths: list[str]) -> None:
    """Raise a PremortemError naming file:line and the fix when a shared PHP file would
    compute a path from shared/ instead of the release."""
    uses = shared_php_uses(shared_dir, src, shared_paths)
    if not uses:
        return
    first = uses[0]
    name = Path(first.file).name
    where = ", ".join(f"{use.file}:{use.line}" for use in uses)
    if (src / "wp-load.php").is_file():
        instead = (
            "build the path from ABSPATH instead (WordPress defines it as the release "
            "directory before it loads wp-config.php), e.g. ABSPATH . 'wp-content'"
        )
    else:
        instead = "compute the path in a file of the release instead"
    raise PremortemError(
        f"deploy refused: {where} uses {first.constant} ({first.text}). Releases link {name} "
        f"to {shared_dir} and PHP resolves the link, so {first.constant} there names "
        f"{shared_dir}, not the release: the site would be served without the release's files "
        f"(a blank page). Fix: {instead}; or take {first.file.removeprefix('shared/')} out of "
        "shared_paths to ship it in each release."
    )
