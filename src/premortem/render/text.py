"""Text output for people: findings grouped by file, the source line with a caret under
the problem, the suggestion and the fix, then a one-line summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from premortem.model import SEVERITY_ORDER, Finding, Severity
from premortem.redact import redact

STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _caret(source_line: str, finding: Finding) -> tuple[str, str] | None:
    """The source line (tabs expanded) and a caret line under the part to look at."""
    if not source_line.strip():
        return None
    start, width = None, 1
    if finding.fix is not None and finding.fix.edits:
        old = finding.fix.edits[0].old
        position = source_line.find(old)
        if position >= 0:
            start, width = position, max(len(old), 1)
    if start is None and finding.column:
        start = finding.column - 1
    if start is None:
        start = len(source_line) - len(source_line.lstrip())
    # Expand tabs the same way in the line and in the prefix so that the caret lines up.
    shown = source_line.expandtabs(4)
    offset = len(source_line[:start].expandtabs(4))
    return shown, " " * offset + "^" * width


def render_check_text(
    findings: Sequence[Finding],
    console: Console,
    *,
    summary: str | None = None,
    minimum: Severity = "warning",
) -> None:
    shown = [f for f in findings if SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[minimum]]
    by_file: dict[str, list[Finding]] = {}
    for finding in shown:
        by_file.setdefault(finding.file or "(no file)", []).append(finding)
    for file, group in by_file.items():
        console.print(f"[bold]{escape(file)}[/]", soft_wrap=True)
        for finding in group:
            _print_finding(finding, console)
        console.print()
    hidden = len(findings) - len(shown)
    if summary is not None:
        if hidden:
            summary += f" ({hidden} below {minimum} not shown)"
        console.print(summary, soft_wrap=True)


def _print_finding(finding: Finding, console: Console) -> None:
    """Its position, severity, rule and message; then the quoted line, suggestion and fix."""
    where = f"{finding.line}:{finding.column or 1}" if finding.line else "-"
    style = STYLES[finding.severity]
    console.print(
        f"  {where:>8}  [{style}]{finding.severity:<7}[/] "
        f"[dim]{finding.rule}[/]  {escape(redact(finding.message))}",
        soft_wrap=True,
    )
    if finding.source_line is not None and finding.line:
        # Secrets on the quoted line (a wp-config.php syntax error) are masked.
        caret = _caret(redact(finding.source_line), finding)
        if caret is not None:
            gutter = f"{finding.line:>6} | "
            console.print(f"    [dim]{gutter}[/]{escape(caret[0])}", soft_wrap=True)
            console.print(
                f"    [dim]{' ' * (len(gutter) - 2)}| [/][{style}]{caret[1]}[/]", soft_wrap=True
            )
    if finding.suggestion and finding.suggestion not in finding.message:
        console.print(f"           suggestion: {escape(finding.suggestion)}", soft_wrap=True)
    if finding.fix is not None:
        console.print(
            f"           [green]fix:[/] {escape(finding.fix.description)}", soft_wrap=True
        )
        for edit in finding.fix.edits:
            console.print(
                f"{' ' * 13}[red]- {escape(edit.old)}[/]  [green]+ {escape(edit.new)}[/]",
                soft_wrap=True,
            )


def summary_line(findings: Sequence[Finding], stats: Mapping[str, Any] | None = None) -> str:
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    parts = [
        f"{counts['error']} error(s)",
        f"{counts['warning']} warning(s)",
        f"{counts['info']} info",
    ]
    line = ", ".join(parts)
    if stats:
        line += (
            f" | {stats.get('php_files', 0)} PHP files, {stats.get('includes', 0)} includes"
            f" ({stats.get('includes_resolved', 0)} resolved,"
            f" {stats.get('includes_unresolved', 0)} not statically resolvable)"
        )
        skipped = stats.get("skipped") or {}
        if skipped:
            line += " | skipped: " + ", ".join(f"{n} {why}" for why, n in skipped.items())
        if "seconds" in stats:
            line += f" | {stats['seconds']:.2f}s"
    return line
