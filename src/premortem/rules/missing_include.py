"""missing-include: an include/require whose statically resolved target does not exist."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from premortem.model import Finding, Fix, Quote
from premortem.php import edit_for_suggestion, suggest_existing
from premortem.php.includes import IncludeSite
from premortem.php.knowledge import DEV_ONLY_FILES, GENERATED_TARGETS, TEST_FILES
from premortem.php.walk import is_within
from premortem.rules.base import Rule

if TYPE_CHECKING:
    from premortem.check.context import CheckContext


class MissingInclude(Rule):
    """
    ## What it does
    Parses every PHP file, statically evaluates the path of each `include`, `include_once`,
    `require` and `require_once` (string literals, `.` concatenation, `__DIR__`, `__FILE__`,
    `dirname(x, levels)`, `realpath()`, `basename()`, `sprintf()`, `str_replace()`,
    constants from `define()`/`const` anywhere in the tree, trying each definition, class
    constants, known application constants such as WordPress's `ABSPATH` and `WPINC`, and
    local variables: every value a variable can hold where it is used, each checked) and
    resolves relative paths the way PHP does: include_path (php.ini's, extended by
    `set_include_path()`/`ini_set()` with computable values), the working directory,
    then the including file's directory. The working directory is the entry point's (a
    file no other includes: what the web server serves or a shell runs), moved by each
    computable `chdir()` on the way: a relative include is judged from every entry point
    that reaches it, and reported naming the one it fails from. Reports the
    statements whose target exists under none of the resolved paths, with the closest
    existing file inside the checked tree as a did-you-mean (another extension, a
    case-only difference, one or two mistyped characters in a long enough name) and the
    exact edit of the line; and targets PHP cannot open whatever the files: `''`, `false`,
    `null`, an array or object, a directory.

    `require` of a missing file is an **error**; `include` of a missing file is a
    **warning** (PHP only warns and goes on; `include ''` and objects throw: errors), and
    so is a `require` in a vendored dependency's example, test or tool script (never
    served) or of a file Composer generates on install (`vendor/composer/installed.php`,
    `autoload_*.php`) or a dependency's development file: the message says which. Not
    reported: includes guarded by `file_exists()`/`is_file()`/`is_readable()` of the
    same path, includes in a branch that never runs (`if (false)`, `if (0)`, a version
    test no PHP from 7.0 on passes: `if (PHP_VERSION_ID < 50300)`), `@include`, files
    the application loads only when the site provides them (WordPress drop-ins,
    plugins, a Composer dependency's own `vendor/`), and anything
    that cannot be evaluated statically (counted as unresolved).

    ## Why it breaks sites
    `require` of a file that does not exist is a fatal error: every request that reaches
    the statement answers HTTP 500, and `php -l` says "No syntax errors detected". In the
    seed outage a release shipped `wp-settings.php` with `class-wp-locale.phpp` on line 156
    and the site answered 500 for two days.

    ## Example
    ```php
    // wp-settings.php, line 156
    require_once ABSPATH . WPINC . '/class-wp-locale.phpp';
    ```
    ```
    wp-settings.php:156:1: error[missing-include] require_once of missing file
      wp-includes/class-wp-locale.phpp; did you mean wp-includes/class-wp-locale.php?
    ```

    ## Fix
    Apply the suggested edit (`'/class-wp-locale.phpp'` -> `'/class-wp-locale.php'`), or
    ship the missing file with the release.
    """

    code = "missing-include"
    summary = "include/require of a file that does not exist"
    severity = "error"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for site in ctx.include_sites:
            if not site.missing:
                continue
            if site.guarded or site.suppressed:
                ctx.count("includes_guarded")
                continue
            if ctx.resolver.is_optional(site):
                ctx.count("includes_optional")
                continue
            ctx.count("includes_missing")
            if site.invalid:
                yield self._invalid(site)
            else:
                yield self._missing(ctx, site)

    def _invalid(self, site: IncludeSite) -> Finding:
        """A target PHP cannot open whatever the files: "", an array, an object..."""
        return Finding(
            rule=self.code,
            severity="error" if site.fatal else "warning",
            message=f"{site.kind} of {site.invalid}: PHP cannot open it as a file",
            file=site.rel,
            line=site.line,
            column=site.column,
            source_line=site.source_line,
            evidence=[Quote("expression", site.expression)],
        )

    def _missing(self, ctx: CheckContext, site: IncludeSite) -> Finding:
        missing = site.missing_candidate()
        what = "missing file"
        suggestion = None
        if os.path.islink(missing):
            what = "a dangling symlink"
        elif os.path.isdir(missing):
            what = "a directory"
        else:
            missing, suggestion = self._suggestion(ctx, site, missing)
        shown = ctx.rel(os.fspath(missing))
        message = f"{site.kind} of {what} {shown}"
        if site.entry_point:
            message += f" when run from {site.entry_point}"
        suggestion_text: str | None = None
        fix: Fix | None = None
        if suggestion is not None:
            suggestion_text = ctx.rel(os.fspath(suggestion))
            message += f"; did you mean {suggestion_text}?"
            edit = edit_for_suggestion(site, missing, suggestion)
            if edit is not None:
                fix = Fix(
                    description=f"{site.kind} {suggestion_text} instead of {shown}",
                    edits=(edit,),
                )
        evidence = [Quote("tried", ctx.rel(os.fspath(c))) for c in site.candidates[:4]]
        if site.entry_point:
            evidence.insert(0, Quote("entry point", site.entry_point))
        why_not_fatal = _not_served(site.rel, ctx.rel(os.fspath(missing)))
        if why_not_fatal:
            message += f" ({why_not_fatal})"
        return Finding(
            rule=self.code,
            severity="error" if site.fatal and not why_not_fatal else "warning",
            message=message,
            file=site.rel,
            line=site.line,
            column=site.column,
            suggestion=suggestion_text,
            fix=fix,
            source_line=site.source_line,
            evidence=evidence,
        )

    @staticmethod
    def _suggestion(
        ctx: CheckContext, site: IncludeSite, missing: Path
    ) -> tuple[Path, Path | None]:
        """The candidate that has a close existing file inside the checked tree, and it."""
        roots = (ctx.tree.root, ctx.tree.root_real)
        # Relative paths have several candidates: the first that has a close match.
        for candidate in [missing, *(c for c in site.candidates if c != missing)]:
            suggestion = suggest_existing(candidate)
            if suggestion is not None and any(is_within(str(suggestion), r) for r in roots):
                return candidate, suggestion
        return missing, None


def _not_served(including: str, target: str) -> str:
    """Why a missing target is a warning, not an error: the file including it is a
    dependency's development script, or the target is generated or development-only."""
    if any(fnmatch.fnmatchcase(including, g) for g in DEV_ONLY_FILES):
        return "in a dependency's example/test/tool script, not served"
    if any(fnmatch.fnmatchcase(including, g) for g in TEST_FILES):
        return "in a test script, not served"
    for pattern, reason in GENERATED_TARGETS:
        if fnmatch.fnmatchcase(target, pattern):
            return reason
    return ""
