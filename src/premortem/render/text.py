"""Text output for people: findings grouped by file, the source line with a caret under
the problem, the suggestion and the fix, then a one-line summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.control import strip_control_codes
from rich.text import Text

from premortem.model import SEVERITY_ORDER, Finding, Severity
from premortem.php.walk import printable
from premortem.redact import redact

STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _caret(source_line: str, finding: Finding) -> tuple[str, str] | None:
    """The source line (tabs expanded) and a caret line under the part to look at."""
    if not source_line.strip():
        return None
    start, width = None, 1
    if finding.fix is not None and finding.fix.edits:
        old = _shown(finding.fix.edits[0].old)
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


class _Painter:
    """The escape codes of each style as `console` writes them (none when it is not a
    terminal, colour or not as it was made), found once by rendering a marker through it:
    each finding then costs string joins, not a rich render (10,000 findings: 25 s)."""

    MARK = "\ue000"

    def __init__(self, console: Console) -> None:
        self.console = console
        self.codes: dict[str, tuple[str, str]] = {}

    def __call__(self, style: str, text: str) -> str:
        codes = self.codes.get(style)
        if codes is None:
            with self.console.capture() as captured:
                self.console.print(Text(self.MARK, style=style), end="", soft_wrap=True)
            before, _mark, after = captured.get().partition(self.MARK)
            codes = self.codes[style] = (before, after)
        return f"{codes[0]}{text}{codes[1]}" if codes[0] else text


def _shown(text: str) -> str:
    """Text from a site as rich would print it (control codes dropped), bytes that are not
    UTF-8 as \\xNN."""
    return strip_control_codes(printable(text))


def _expand_tabs(pieces: list[tuple[str, str]], tab_size: int) -> list[tuple[str, str]]:
    """Tabs turned into spaces as rich does (to the next multiple of `tab_size` cells,
    counted from the start of the line, across the pieces)."""
    column, result = 0, []
    for style, text in pieces:
        out: list[str] = []
        for index, part in enumerate(text.split("\t")):
            if index:
                spaces = 1 + (-(column + 1)) % tab_size
                out.append(" " * spaces)
                column += spaces
            out.append(part)
            column = (
                column + cell_len(part) if "\n" not in part else cell_len(part.rsplit("\n")[-1])
            )
        result.append((style, "".join(out)))
    return result


def render_check_text(
    findings: Sequence[Finding],
    console: Console,
    *,
    summary: str | None = None,
    minimum: Severity = "warning",
) -> None:
    """Written to `console.file` in chunks: the same text console.print gave, line by line."""
    shown = [f for f in findings if SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[minimum]]
    by_file: dict[str, list[Finding]] = {}
    for finding in shown:
        by_file.setdefault(finding.file or "(no file)", []).append(finding)
    paint = _Painter(console)
    lines: list[list[tuple[str, str]]] = []
    for file, group in by_file.items():
        lines.append([("bold", _shown(file))])
        for finding in group:
            _finding_lines(finding, lines)
        lines.append([])
        if len(lines) >= 2000:
            _write(console, paint, lines)
            lines = []
    hidden = len(findings) - len(shown)
    if summary is not None:
        if hidden:
            summary += f" ({hidden} below {minimum} not shown)"
        lines.append([("", strip_control_codes(summary))])
    _write(console, paint, lines)


def _write(console: Console, paint: _Painter, lines: list[list[tuple[str, str]]]) -> None:
    out: list[str] = []
    for pieces in lines:
        if any("\t" in text for _style, text in pieces):
            pieces = _expand_tabs(pieces, console.tab_size)
        out.append("".join(paint(style, text) if style else text for style, text in pieces))
    if out:
        console.file.write("\n".join(out) + "\n")
        console.file.flush()


def _finding_lines(finding: Finding, lines: list[list[tuple[str, str]]]) -> None:
    """Its position, severity, rule and message; then the quoted line, suggestion and fix."""
    where = f"{finding.line}:{finding.column or 1}" if finding.line else "-"
    style = STYLES[finding.severity]
    lines.append(
        [
            ("", f"  {where:>8}  "),
            (style, f"{finding.severity:<7}"),
            ("", " "),
            ("dim", finding.rule),
            ("", f"  {_shown(redact(finding.message))}"),
        ]
    )
    if finding.source_line is not None and finding.line:
        # Secrets on the quoted line (a wp-config.php syntax error) are masked.
        caret = _caret(_shown(redact(finding.source_line)), finding)
        if caret is not None:
            gutter = f"{finding.line:>6} | "
            lines.append([("", "    "), ("dim", gutter), ("", caret[0])])
            lines.append([("", "    "), ("dim", f"{' ' * (len(gutter) - 2)}| "), (style, caret[1])])
    if finding.suggestion and finding.suggestion not in finding.message:
        lines.append([("", f"           suggestion: {_shown(finding.suggestion)}")])
    if finding.fix is not None:
        fix = _shown(finding.fix.description)
        lines.append([("", "           "), ("green", "fix:"), ("", f" {fix}")])
        for edit in finding.fix.edits:
            lines.append(
                [
                    ("", " " * 13),
                    ("red", f"- {_shown(edit.old)}"),
                    ("", "  "),
                    ("green", f"+ {_shown(edit.new)}"),
                ]
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
