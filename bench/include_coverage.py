"""Share of include statements `check` can report on, per real application.

An include is *checkable* when its target is known statically, so that a missing file
would be reported: resolved, and not found only by looking (an include_path the code sets
to something check cannot compute). Prints one line per application and the total.
"""

from __future__ import annotations

import sys
from pathlib import Path

from premortem.php import resolve_includes

APPS = ("wordpress", "dokuwiki", "mediawiki", "phpmyadmin", "roundcube", "adminer", "cacti")


def coverage(root: Path) -> tuple[int, int]:
    sites = list(resolve_includes(root, use_cache=False))
    checkable = sum(1 for s in sites if s.resolved and not s.runtime_include_path)
    return checkable, len(sites)


def _line(name: str, checkable: int, count: int) -> None:
    print(f"{name:12} {checkable:5}/{count:<5} {100 * checkable / max(count, 1):5.1f} %")


def main() -> int:
    total_checkable = total = 0
    for app in sys.argv[1:] or APPS:
        root = Path("/usr/share") / app
        if not root.is_dir():
            continue
        checkable, count = coverage(root)
        total_checkable += checkable
        total += count
        _line(app, checkable, count)
    _line("all", total_checkable, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
