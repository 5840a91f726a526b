"""PHP source analysis: parsing (tree-sitter), static evaluation of include expressions,
the include resolver and did-you-mean.

The functions below are the stable API that `premortem diagnose` builds on:

- `find_includes_of(root, target)`: the include/require statements under `root` whose
  statically resolved path is `target` (map a failed open() seen by strace to a line).
- `suggest_existing(missing)`: the existing file most likely meant instead of `missing`.
- `edit_for_suggestion(site, missing, suggestion)`: the exact edit of the include line.
"""

from __future__ import annotations

import os
from pathlib import Path

from premortem.model import Edit
from premortem.php.includes import IncludeResolver, IncludeSite
from premortem.php.suggest import edit_for_literal, suggest_existing

__all__ = [
    "IncludeResolver",
    "IncludeSite",
    "edit_for_suggestion",
    "find_includes_of",
    "resolve_includes",
    "suggest_existing",
]


def resolve_includes(
    root: Path,
    *,
    include_path: list[str] | None = None,
    defines: dict[str, str] | None = None,
    use_cache: bool = True,
) -> list[IncludeSite]:
    """Every include/require under `root`, statically resolved."""
    from premortem.check.parsing import parse_tree
    from premortem.check.walk import walk_tree

    tree = walk_tree(os.fspath(root))
    parsed = parse_tree(tree, use_cache=use_cache)
    resolver = IncludeResolver(tree, parsed, include_path=include_path, defines=defines)
    return list(resolver.sites())


def _same_path(a: str, b: str) -> bool:
    if os.path.normpath(a) == os.path.normpath(b):
        return True
    return os.path.realpath(a) == os.path.realpath(b)


def find_includes_of(
    root: Path,
    target: Path,
    *,
    include_path: list[str] | None = None,
    defines: dict[str, str] | None = None,
) -> list[IncludeSite]:
    """The include/require statements under `root` whose resolved path is `target`."""
    wanted = os.fspath(target)
    found: list[IncludeSite] = []
    for site in resolve_includes(root, include_path=include_path, defines=defines):
        if any(_same_path(os.fspath(c), wanted) for c in site.candidates):
            found.append(site)
    return found


def edit_for_suggestion(site: IncludeSite, missing: Path, suggestion: Path) -> Edit | None:
    """The edit of `site`'s source line that makes it include `suggestion` instead."""
    missing_text = os.fspath(missing)
    suggestion_text = os.fspath(suggestion)
    for value in site.values:
        edit = edit_for_literal(
            site.rel or os.fspath(site.file),
            site.line,
            site.source_line,
            value,
            missing_text,
            suggestion_text,
        )
        if edit is not None:
            return edit
    return None
