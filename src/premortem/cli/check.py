"""`premortem check`: the static release check, before a release goes live."""

from __future__ import annotations

import io
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from premortem.cli.options import format_option, shown_option
from premortem.errors import ExitStatus, PremortemError
from premortem.model import SEVERITY_ORDER, Finding, Severity

if TYPE_CHECKING:
    from premortem.check.context import CheckOptions
    from premortem.check.runner import CheckResult
    from premortem.render.sarif import RuleInfo
    from premortem.rules.base import Rule


def _parse_defines(values: tuple[str, ...]) -> dict[str, str]:
    defines: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise PremortemError(f"--define {item!r}: expected NAME=VALUE, e.g. ABSPATH=/srv/www/")
        defines[name.strip()] = value
    return defines


@click.command("check")
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@format_option(
    "text",
    "json",
    "sarif",
    show_default=True,
    help="text for people, json (the documented contract), sarif for code scanning.",
)
@shown_option(
    "--fail-on",
    kind=click.Choice(["error", "warning"]),
    default="error",
    help="Exit 1 when a finding at or above this severity is reported.",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    help="The previous release's tree: report only findings that are new in PATH.",
)
@click.option(
    "--include-path",
    "include_paths",
    multiple=True,
    help="PHP include_path entry (repeatable; default: the installed php.ini's).",
)
@click.option(
    "--define",
    "defines",
    multiple=True,
    metavar="NAME=VALUE",
    help="Give a PHP constant a value (repeatable), e.g. --define ABSPATH=/srv/www/.",
)
@click.option(
    "--server-config",
    "server_configs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Apache (apache2.conf/httpd.conf) or nginx main config to check too (repeatable).",
)
@shown_option("--user", default="www-data", help="The web server's user.")
@click.option("--no-cache", is_flag=True, help="Parse every file again (no content-hash cache).")
@click.option(
    "--php-lint",
    is_flag=True,
    help="Also run php -l on files whose compile errors the grammar cannot see "
    "(function __autoload(), a method incompatible with its parent in the same file).",
)
@click.option(
    "--no-php",
    is_flag=True,
    help="Never run php: tree-sitter-php alone judges the syntax (e.g. when this machine's "
    "PHP is not the version the site runs).",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the report to FILE.")
@click.option("-v", "--verbose", is_flag=True, help="Also show info findings in text output.")
def check(
    path: Path,
    output_format: str,
    fail_on: str,
    baseline: Path | None,
    include_paths: tuple[str, ...],
    defines: tuple[str, ...],
    server_configs: tuple[Path, ...],
    user: str,
    no_cache: bool,
    php_lint: bool,
    no_php: bool,
    output: Path | None,
    verbose: bool,
) -> ExitStatus:
    """Check a PHP release tree before it ships: includes that resolve to no file
    (with did-you-mean and the exact fix), PHP syntax errors, broken symlinks, exposed
    source files, files the web server cannot read and, with --server-config, the web
    server's configuration and the tree's .htaccess files.

    Exit status: 0 nothing at or above --fail-on, 1 problems found, 2 PATH unusable.
    """
    # Imported here, and rich only for text output: a cached check is mostly imports.
    from premortem.check.context import CheckOptions
    from premortem.rules.unreadable import account

    account(user)  # an unknown user is a usage error: say so before the work
    for config in server_configs:
        if not config.is_file():
            raise PremortemError(f"--server-config {config}: no such file")
    options = CheckOptions(
        include_path=list(include_paths) or None,
        defines=_parse_defines(defines),
        user=user,
        server_configs=[str(c) for c in server_configs],
        use_cache=not no_cache,
        confirm_with_php=not no_php,
        php_lint=php_lint,
    )
    interactive = False
    if output_format == "text":  # rich is imported for text output only
        from premortem.cli.console import err_console

        interactive = err_console.is_terminal
    with (
        err_console.status(f"checking {path} ...", spinner="dots") if interactive else nullcontext()
    ):
        result, findings = _run(path, baseline, options)
    skipped = result.stats.get("skipped", {})
    if skipped or output_format == "text" or output is not None:
        from premortem.cli.console import err_console
        from premortem.render.text import summary_line

        for reason, count in skipped.items():
            err_console.print(f"premortem: skipped {count} PHP file(s): {reason}")
        summary = summary_line(findings, result.stats)
        if baseline is not None:
            summary += f" | {result.stats['baseline']['not_new']} already in the baseline"
    else:
        summary = ""  # not shown: json or sarif on stdout
    _emit(findings, result, output_format, output, summary, "info" if verbose else "warning")
    failing = SEVERITY_ORDER[fail_on]
    problems = any(SEVERITY_ORDER[f.severity] >= failing for f in findings)
    return ExitStatus.PROBLEMS if problems else ExitStatus.OK


def _run(
    path: Path, baseline: Path | None, options: CheckOptions
) -> tuple[CheckResult, list[Finding]]:
    """The check of PATH, and its findings (only those new since the baseline, if any)."""
    from premortem.check.runner import new_relative_to, run_check

    result = run_check(path, options)
    if baseline is None:
        return result, result.findings
    old = run_check(baseline, options)
    findings = new_relative_to(result, old)
    result.stats["baseline"] = {
        "root": old.root,
        "findings_in_baseline": len(old.findings),
        "not_new": len(result.findings) - len(findings),
    }
    return result, findings


def _emit(
    findings: list[Finding],
    result: CheckResult,
    output_format: str,
    output: Path | None,
    summary: str,
    minimum: Severity,
) -> None:
    """The report in the format asked, on stdout or in --output (then the summary on stderr)."""
    from premortem import registry

    if output_format == "json":
        from premortem.render.json import render_json

        rendered = render_json(findings, command="check", root=result.root, stats=result.stats)
    elif output_format == "sarif":
        from premortem.render.sarif import render_sarif

        rendered = render_sarif(findings, _rule_infos(registry.rules()), root=result.root)
    elif output is not None:
        from rich.console import Console

        from premortem.render.text import render_check_text

        buffer = io.StringIO()
        plain = Console(file=buffer, width=120, no_color=True)
        render_check_text(findings, plain, summary=summary, minimum=minimum)
        rendered = buffer.getvalue()
    else:
        from premortem.cli.console import console
        from premortem.render.text import render_check_text

        render_check_text(findings, console, summary=summary, minimum=minimum)
        return
    if output is None:
        sys.stdout.write(rendered)
        return
    try:
        output.write_text(rendered, encoding="utf-8")
    except OSError as exc:
        raise PremortemError(f"cannot write {output}: {exc.strerror}") from None
    from premortem.cli.console import err_console

    err_console.print(summary)


def _rule_infos(rules: list[type[Rule]]) -> list[RuleInfo]:
    from premortem.render.sarif import RuleInfo

    return [
        RuleInfo(r.code, r.summary, r.doc(), r.severity, r.__name__, r.docs_url()) for r in rules
    ]
