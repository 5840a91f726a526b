"""What the rules of one check run share: the walked tree, the parsed PHP, the resolver."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from premortem.php.walk import Tree, display_path, is_within

if TYPE_CHECKING:  # imported when a check runs: a cached answer needs neither
    from premortem.php.includes import IncludeResolver, IncludeSite
    from premortem.php.parsing import ParseResult


@dataclass
class CheckOptions:
    include_path: list[str] | None = None
    defines: dict[str, str] = field(default_factory=dict)
    user: str = "www-data"
    server_configs: list[str] = field(default_factory=list)
    use_cache: bool = True
    workers: int | None = None
    confirm_with_php: bool = True
    # `php -l` also on files the grammar accepts but PHP's compiler may not (opt-in: costs
    # a php process per such file on a cold run).
    php_lint: bool = False


@dataclass
class CheckContext:
    tree: Tree
    parsed: ParseResult
    options: CheckOptions
    counters: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, amount: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount

    @cached_property
    def resolver(self) -> IncludeResolver:
        from premortem.php.includes import IncludeResolver

        return IncludeResolver(
            self.tree,
            self.parsed,
            include_path=self.options.include_path,
            defines=self.options.defines,
        )

    @cached_property
    def include_sites(self) -> list[IncludeSite]:
        # Found sites keep no values (only a missing one is shown and fixed with them).
        sites = list(self.resolver.sites(keep_values=False))
        self.count("includes", len(sites))
        self.count("includes_resolved", sum(1 for s in sites if s.resolved))
        self.count("includes_unresolved", sum(1 for s in sites if not s.resolved))
        return sites

    def rel(self, path: str) -> str:
        """`path` relative to the analysed root when inside it, else as is (printable)."""
        for root in (self.tree.root, self.tree.root_real):
            if is_within(path, root):
                return display_path(os.path.relpath(path, root))
        return display_path(path)
