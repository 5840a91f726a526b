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
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

if TYPE_CHECKING:
    from premortem.model import Edit
    from premortem.php.includes import IncludeResolver, IncludeSite
    from premortem.php.suggest import suggest_existing

__all__ = [
    "IncludeResolver",
    "IncludeSite",
    "edit_for_suggestion",
    "find_includes_of",
    "resolve_includes",
    "suggest_existing",
]


def __getattr__(name: str) -> Any:
    """The re-exported names, imported on first use: `premortem.php.walk` (which a cached
    check needs) must not import the resolver and the parser with this package."""
    if name in ("IncludeResolver", "IncludeSite"):
        from premortem.php import includes

        return getattr(includes, name)
    if name == "suggest_existing":
        from premortem.php.suggest import suggest_existing

        return suggest_existing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ResolveOptions(TypedDict, total=False):
    """How includes are resolved: PHP's include_path (default: ".") and constants known
    beforehand (NAME -> value); use_cache (default True): premortem check's parse cache."""

    include_path: list[str] | None
    defines: dict[str, str] | None
    use_cache: bool


def _resolver(root: Path, **options: Unpack[ResolveOptions]) -> IncludeResolver:
    """The resolver of the tree at `root`, through the same cache as `premortem check`.

    A tree already checked (or resolved) costs a stat of each file, not a parse; what is
    parsed here is saved for the next call and for `premortem check`.
    """
    from premortem.php.includes import IncludeResolver
    from premortem.php.parsing import parse_tree
    from premortem.php.walk import walk_tree

    tree = walk_tree(os.fspath(root))
    parsed = parse_tree(tree, use_cache=options.get("use_cache", True))
    parsed.save_cache()
    return IncludeResolver(
        tree, parsed, include_path=options.get("include_path"), defines=options.get("defines")
    )


def resolve_includes(root: Path, **options: Unpack[ResolveOptions]) -> list[IncludeSite]:
    """Every include/require under `root`, statically resolved."""
    return list(_resolver(root, **options).sites())


def find_includes_of(
    root: Path, target: Path, **options: Unpack[ResolveOptions]
) -> list[IncludeSite]:
    """The include/require statements under `root` whose resolved path is `target`."""
    resolver = _resolver(root, **options)
    wanted = os.path.normpath(os.fspath(target))
    wanted_real = resolver.real_path(os.path.abspath(wanted))
    found: list[IncludeSite] = []
    for site in resolver.sites():
        for candidate in site.candidates:
            text = os.fspath(candidate)
            # The same path as written, or the same file through symlinks.
            if text == wanted or resolver.real_path(text) == wanted_real:
                found.append(site)
                break
    return found


def edit_for_suggestion(site: IncludeSite, missing: Path, suggestion: Path) -> Edit | None:
    """The edit of `site`'s source line that makes it include `suggestion` instead."""
    from premortem.php.suggest import edit_for_literal

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
