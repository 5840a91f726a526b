"""The text renderer writes strings with style codes found once; what it writes must be
what rich's console.print of each line wrote before (the renderer as it was is kept here
as the reference), to a file and to a colour terminal, on awkward findings: tabs, markup-
like brackets, control codes, wide characters, a fix, a suggestion, no line."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest
from rich.console import Console
from rich.markup import escape

from premortem.model import SEVERITY_ORDER, Edit, Finding, Fix, Severity
from premortem.redact import redact
from premortem.render.text import STYLES, _caret, render_check_text


def reference(findings: Sequence[Finding], console: Console, summary: str) -> None:
    """render_check_text before it stopped calling console.print per line."""
    minimum: Severity = "warning"
    shown = [f for f in findings if SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[minimum]]
    by_file: dict[str, list[Finding]] = {}
    for finding in shown:
        by_file.setdefault(finding.file or "(no file)", []).append(finding)
    for file, group in by_file.items():
        console.print(f"[bold]{escape(file)}[/]", soft_wrap=True)
        for f in group:
            where = f"{f.line}:{f.column or 1}" if f.line else "-"
            style = STYLES[f.severity]
            console.print(
                f"  {where:>8}  [{style}]{f.severity:<7}[/] [dim]{f.rule}[/]  "
                f"{escape(redact(f.message))}",
                soft_wrap=True,
            )
            if f.source_line is not None and f.line:
                caret = _caret(redact(f.source_line), f)
                if caret is not None:
                    gutter = f"{f.line:>6} | "
                    console.print(f"    [dim]{gutter}[/]{escape(caret[0])}", soft_wrap=True)
                    console.print(
                        f"    [dim]{' ' * (len(gutter) - 2)}| [/][{style}]{caret[1]}[/]",
                        soft_wrap=True,
                    )
            if f.suggestion and f.suggestion not in f.message:
                console.print(f"           suggestion: {escape(f.suggestion)}", soft_wrap=True)
            if f.fix is not None:
                console.print(
                    f"           [green]fix:[/] {escape(f.fix.description)}", soft_wrap=True
                )
                for e in f.fix.edits:
                    console.print(
                        f"{' ' * 13}[red]- {escape(e.old)}[/]  [green]+ {escape(e.new)}[/]",
                        soft_wrap=True,
                    )
        console.print()
    hidden = len(findings) - len(shown)
    console.print(summary + f" ({hidden} below {minimum} not shown)", soft_wrap=True)


FINDINGS = [
    Finding(
        rule="missing-include",
        severity="error",
        message="require of missing file [bold]x.phpp[/]; did you mean x.php?",
        file="wp-includes/[odd] dir/a.php",
        line=12,
        column=5,
        suggestion="x.php",
        fix=Fix("require x.php instead", edits=(Edit("a.php", 12, "'/x.phpp'", "'/x.php'"),)),
        source_line="\trequire\t__DIR__ . '/x.phpp'; // tabs",
    ),
    Finding(
        rule="php-syntax",
        severity="warning",
        message="a bell \x07 and a carriage return \r in a message, 漢字 wide",
        file="漢字/b.php",
        line=3,
        source_line="echo '漢字\t[/]';",
        suggestion="look at [red]this[/]",
    ),
    Finding(
        rule="exposed-source",
        severity="warning",
        message="two lines:\n\tthe second\tafter a tab",
        file="c.php~",
    ),
    Finding(rule="server-config", severity="error", message="no file", line=None),
    Finding(rule="x", severity="info", message="below the minimum: not shown", file="d.php"),
]


@pytest.mark.parametrize("terminal", [False, True])
def test_same_text_as_printing_each_line_with_rich(terminal: bool) -> None:
    def console() -> Console:
        return Console(file=io.StringIO(), width=100, force_terminal=terminal, highlight=False)

    fast, slow = console(), console()
    render_check_text(FINDINGS, fast, summary="2 error(s) | 1.00s")
    reference(FINDINGS, slow, "2 error(s) | 1.00s")
    assert isinstance(fast.file, io.StringIO) and isinstance(slow.file, io.StringIO)
    assert fast.file.getvalue() == slow.file.getvalue()
    if terminal:
        assert "\x1b[" in fast.file.getvalue(), "colours on a terminal"
