"""Where a PHP file computes a path from `__DIR__` or `__FILE__`, which PHP resolves through
symlinks: in a file linked from elsewhere (a deploy's shared/wp-config.php) they name the
link's target directory, not the directory the link sits in.

Read line by line, without running PHP: lines that start as comments are skipped;
`define('ABSPATH', ...)` is skipped in WordPress (wp-load.php defines ABSPATH first, so it
never takes effect); `__DIR__ . '/name'` is skipped when the caller says `name` is meant
beside the target (`sibling_is_shared`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

DIR_CONSTANT = re.compile(r"\b(__DIR__|__FILE__)\b")
ABSPATH_DEFINE = re.compile(r"""\bdefine\s*\(\s*['"]ABSPATH['"]""", re.IGNORECASE)
# __DIR__ . '/name' or dirname(__FILE__) . '/name': a path beside the file itself.
SIBLING = re.compile(
    r"""(?:__DIR__|dirname\s*\(\s*__FILE__\s*\))\s*\.\s*['"]/?([^'"/][^'"]*)['"]"""
)
COMMENT_STARTS = ("//", "#", "*", "/*")


@dataclass(frozen=True)
class DirUse:
    """One line of a shared PHP file whose `__DIR__`/`__FILE__` would name shared/."""

    file: str  # as shown: shared/wp-config.php
    line: int
    text: str
    constant: str


def dir_constant_uses(
    text: str, shown_as: str, *, wordpress: bool, sibling_is_shared: Callable[[str], bool]
) -> list[DirUse]:
    """The lines of the PHP `text` (a shared file shown as `shown_as`) that would resolve
    `__DIR__`/`__FILE__` to shared/ where the release was meant; `sibling_is_shared(name)`
    says whether `__DIR__ . '/name'` means the shared one."""
    uses: list[DirUse] = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.strip()
        match = DIR_CONSTANT.search(code)
        if match is None or code.startswith(COMMENT_STARTS):
            continue
        if wordpress and ABSPATH_DEFINE.search(code):
            continue
        siblings = SIBLING.findall(code)
        if siblings and all(sibling_is_shared(name) for name in siblings):
            continue
        uses.append(DirUse(shown_as, number, code, match.group(1)))
    return uses
