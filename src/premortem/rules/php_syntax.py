"""php-syntax: PHP files that do not parse."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from premortem.model import Finding, Quote
from premortem.php.lint import may_not_compile, php_lint
from premortem.php.outline import PHP_PARSER
from premortem.rules.base import Rule
from premortem.textfile import line_of

if TYPE_CHECKING:
    from premortem.check.context import CheckContext
    from premortem.php.parsing import ParsedFile


class PhpSyntax(Rule):
    """
    ## What it does
    Reports PHP files that do not parse. The installed PHP's own parser judges every file
    (`token_get_all(..., TOKEN_PARSE)` in one long-lived php process per CPU, not a process
    per file), so the message and line are the ones `php -l` prints, for the PHP version
    the site runs. Without a `php` binary (or with `--no-php`), every file is parsed with
    tree-sitter-php, and the files it flags are confirmed with `php -l` when it exists: a
    file tree-sitter rejects but `php -l` accepts is not reported (the grammar lags behind
    PHP on a few constructs); with no php at all, tree-sitter's own location is reported.

    With `--php-lint`, `php -l` also runs on the files the grammar accepts but PHP's
    compiler may not: `function __autoload()` (refused by PHP 8), a class extending or
    implementing one declared in the same file (an incompatible method signature is a
    compile error). Opt-in: it costs a php process per such file on a cold run (about
    10 % CPU on WordPress); the verdicts are cached.

    ## Why it breaks sites
    A parse error is fatal when the file is compiled: every request that includes it
    answers HTTP 500 (or a blank page), whatever the code path.

    ## Example
    ```php
    <?php
    function greet( $name ) {
        echo "Hello, $name"
    }
    ```
    ```
    greet.php:4: error[php-syntax] syntax error, unexpected token "}", expecting "," or ";"
    ```

    ## Fix
    Correct the statement at the reported line; run `php -l FILE` to confirm.
    """

    code = "php-syntax"
    summary = "PHP file with a parse error"
    severity = "error"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        if ctx.options.php_lint and ctx.options.confirm_with_php:
            yield from self._compile_errors(ctx)
        flagged = [f for f in ctx.parsed.files if f.facts.syntax_problems]
        by_php = sum(1 for f in flagged if f.facts.syntax_by == PHP_PARSER)
        ctx.count("syntax_flagged_by_php", by_php)
        ctx.count("syntax_flagged_by_tree_sitter", len(flagged) - by_php)
        if not flagged:
            return
        verdicts: list[tuple[bool, str | None, int | None] | None] = [None] * len(flagged)
        if ctx.options.confirm_with_php:
            unknown = [f for f in flagged if f.facts.php_lint is None]
            if unknown:  # not when every verdict was given during the parse, or cached
                _lint(ctx, unknown, workers=4)
            verdicts = [f.facts.php_lint for f in flagged]
        for parsed, verdict in zip(flagged, verdicts, strict=True):
            yield from self._findings(ctx, parsed, verdict)

    def _findings(
        self,
        ctx: CheckContext,
        parsed: ParsedFile,
        verdict: tuple[bool, str | None, int | None] | None,
    ) -> Iterable[Finding]:
        if verdict is not None and verdict[0]:
            ctx.count("syntax_cleared_by_php_lint")
            return
        first = parsed.facts.syntax_problems[0]
        line, message = first.line, first.message
        column: int | None = first.column
        evidence = [Quote(parsed.facts.syntax_by, first.message)]
        if parsed.facts.syntax_by == PHP_PARSER:
            column = None  # PHP's ParseError gives the line only
        elif verdict is not None and verdict[1]:
            message = verdict[1]
            evidence.append(Quote("php -l", verdict[1]))
            if verdict[2] is not None:
                line, column = verdict[2], None  # php -l gives no column
        source_line = line_of(parsed.entry.path, line)
        yield Finding(
            rule=self.code,
            severity=self.severity,
            message=message,
            file=parsed.entry.display,
            line=line,
            column=column,
            source_line=source_line,
            evidence=evidence,
        )

    def _compile_errors(self, ctx: CheckContext) -> Iterable[Finding]:
        """`--php-lint`: `php -l` on the files the grammar accepts that hold a construct
        only PHP's compiler judges (`function __autoload()`, a class extending one of the
        same file); the verdict is cached with the file's facts."""
        unknown: list[ParsedFile] = []
        for parsed in ctx.parsed.files:
            if parsed.facts.syntax_problems or parsed.facts.php_lint is not None:
                continue
            try:
                with open(parsed.entry.path, "rb") as handle:
                    source = handle.read()
            except OSError:
                continue
            if may_not_compile(source):
                unknown.append(parsed)
        ctx.count("php_lint_compile_checked", len(unknown))
        _lint(ctx, unknown, workers=2)
        for parsed in ctx.parsed.files:
            verdict = parsed.facts.php_lint
            if parsed.facts.syntax_problems or verdict is None or verdict[0]:
                continue
            line = verdict[2] or 1
            yield Finding(
                rule=self.code,
                severity=self.severity,
                message=verdict[1] or "php -l failed",
                file=parsed.entry.display,
                line=line,
                source_line=line_of(parsed.entry.path, line),
                evidence=[Quote("php -l", verdict[1] or "")],
            )


def _lint(ctx: CheckContext, files: list[ParsedFile], workers: int) -> None:
    """`php -l` on `files` in `workers` threads; each verdict is kept in the file's facts
    (cached with them)."""
    # Imported here for start-up speed: only unconfirmed files need threads.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for parsed, verdict in zip(
            files, pool.map(lambda f: php_lint(f.entry.path), files), strict=True
        ):
            if verdict is not None:
                ctx.parsed.set_lint(parsed, verdict)
