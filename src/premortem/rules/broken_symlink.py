"""broken-symlink: symlinks that point nowhere, loop, or leave the tree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from premortem.model import Finding, Fix, Severity
from premortem.rules.base import Rule

if TYPE_CHECKING:
    from premortem.check.context import CheckContext


class BrokenSymlink(Rule):
    """
    ## What it does
    Reports symlinks in the tree whose target does not exist (dangling), that loop back on
    themselves, or (as info) that point outside the analysed tree.

    ## Why it breaks sites
    A dangling link behaves like a missing file: a request for it answers 404, and an
    include of it is a fatal error (reported by missing-include as well). A release copied
    to another place keeps its relative links, which may then dangle. Links that leave the
    tree make a release depend on files it does not ship (Debian's WordPress links
    `wp-includes/ID3` into /usr/share/php). Dangling links are only warnings: Debian's own
    MediaWiki ships a dangling `LocalSettings.php` until the wiki is configured.

    ## Example
    ```
    wp-config.php -> ../../shared/wp-config.php     (shared/wp-config.php missing)
    ```
    ```
    wp-config.php: warning[broken-symlink] dangling symlink -> ../../shared/wp-config.php
    ```

    ## Fix
    Create the target (e.g. the shared configuration), or point the link at the right place
    with `ln -sfn TARGET LINK`.
    """

    code = "broken-symlink"
    summary = "dangling, looping or tree-escaping symlink"
    severity = "warning"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for entry in ctx.tree.entries:
            if not entry.is_link or entry.link_problem is None:
                continue
            severity, message, fix = LINK_PROBLEMS.get(entry.link_problem, LEAVES_THE_TREE)
            yield Finding(
                rule=self.code,
                severity=severity,
                message=message.format(target=entry.link_target or "?"),
                file=entry.display,
                fix=fix,
            )


# What each problem of a link is: (severity, message, fix).
LINK_PROBLEMS: dict[str, tuple[Severity, str, Fix | None]] = {
    "dangling": (
        "warning",
        "dangling symlink -> {target}",
        Fix(description="create the link's target or re-point the link (ln -sfn)"),
    ),
    "loop": ("warning", "symlink loop -> {target} (not followed)", None),
}
LEAVES_THE_TREE: tuple[Severity, str, Fix | None] = (
    "info",
    "symlink leaves the tree -> {target}",
    None,
)
