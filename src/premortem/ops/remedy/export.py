"""Export a fix plan as a reviewable, idempotent shell script or Puppet manifest.

Both check each edited line before touching anything: a line that already reads the new
text is left alone ("already applied"), a line that reads neither the old nor the new text
stops the run with an error and changes nothing. The line texts travel in environment
variables read by awk's ENVIRON, which (unlike `awk -v` or sed) interprets no escapes, so a
line with backslashes, quotes or `$` is matched and written exactly. Files are replaced by
a temporary file in the same directory with the original's owner and mode, then a rename.
"""

from __future__ import annotations

from datetime import UTC, datetime
from shlex import quote
from typing import NamedTuple

from premortem.ops.remedy.plan import FixPlan

_READ_LINE = "awk -v n={line} 'NR == n {{ print; exit }}' {file}"
_REWRITE = (
    "tmp=$(mktemp {dir}/.premortem-fix.XXXXXX) && "
    'awk -v n={line} \'NR == n && $0 == ENVIRON["OLD_LINE"] {{ print ENVIRON["NEW_LINE"]; next }}'
    ' {{ print }}\' {file} > "$tmp" && '
    'chown --reference={file} "$tmp" && chmod --reference={file} "$tmp" && '
    'mv -f "$tmp" {file}'
)


class _LineEdit(NamedTuple):
    """One line to change: where it is (real path and the name shown) and its two texts."""

    path: str
    display: str
    line: int
    old: str
    new: str

    @property
    def where(self) -> str:
        return f"{self.display}:{self.line}"

    def rewrite(self) -> str:
        """The shell command that replaces the line atomically, keeping owner and mode."""
        directory = quote(self.path.rsplit("/", 1)[0] or "/")
        return _REWRITE.format(dir=directory, line=self.line, file=quote(self.path))


def _edits(plan: FixPlan) -> list[_LineEdit]:
    """Every line to change, in plan order."""
    out: list[_LineEdit] = []
    for file_plan in plan.files:
        for change in file_plan.changes:
            before = change.before if not change.already_applied else change.after
            out.append(
                _LineEdit(str(file_plan.path), file_plan.display, change.line, before, change.after)
            )
    return out


def _header(plan: FixPlan, comment: str) -> list[str]:
    finding = plan.finding
    where = f"{finding.file}:{finding.line}" if finding.file else "?"
    lines = [
        f"{comment} premortem fix, exported {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"{comment} finding: {finding.rule} at {where}: {finding.message}",
    ]
    if finding.fix is not None and finding.fix.description:
        lines.append(f"{comment} fix: {finding.fix.description}")
    for command in plan.commands:
        lines.append(f"{comment} also suggested, NOT run by this file: {command}")
    return lines


_SHELL_PREAMBLE = (
    "# Idempotent: run it twice, the second run changes nothing. Review before running.",
    "set -eu",
    "stamp=$(date -u +%Y%m%dT%H%M%SZ)",
    'backup_dir="${PREMORTEM_BACKUP_DIR:-/var/backups/premortem-fix-$stamp}"',
    "",
    'line_of() { awk -v n="$2" \'NR == n { print; exit }\' "$1"; }',
    "",
    "# 1. Check every line first: nothing is changed unless all are as expected.",
    "todo=''",
)
_SHELL_REWRITE_LOOP = (
    "",
    "# 2. Back up, then rewrite each line atomically (same owner and mode).",
    "for n in $todo; do",
    "    case $n in",
)


def export_shell(plan: FixPlan) -> str:
    edits = list(enumerate(_edits(plan), 1))
    out = ["#!/bin/sh", *_header(plan, "#"), *_SHELL_PREAMBLE]
    for number, edit in edits:
        out += _shell_check(number, edit)
    out += _SHELL_REWRITE_LOOP
    for number, edit in edits:
        out += _shell_rewrite(number, edit)
    out += ["    esac", "done", ""]
    return "\n".join(out)


def _shell_check(number: int, edit: _LineEdit) -> list[str]:
    """Step 1 for one line: already new, to do, or unexpected (stop before any change)."""
    return [
        f"OLD_{number}={quote(edit.old)}",
        f"NEW_{number}={quote(edit.new)}",
        f"current=$(line_of {quote(edit.path)} {edit.line})",
        f'if [ "$current" = "$NEW_{number}" ]; then',
        f"    echo {quote(f'{edit.where}: already applied')}",
        f'elif [ "$current" = "$OLD_{number}" ]; then',
        f'    todo="$todo {number}"',
        "else",
        f"    echo {quote(f'{edit.where}: unexpected content; not changing anything')} >&2",
        "    exit 1",
        "fi",
    ]


def _shell_rewrite(number: int, edit: _LineEdit) -> list[str]:
    """Step 2 for one line: back it up, rewrite it, check that it now reads the new text."""
    path = quote(edit.path)
    return [
        f"    {number})",
        '        mkdir -p "$backup_dir"',
        f'        cp -p {path} "$backup_dir/{number}-$(basename {path})"',
        f'        OLD_LINE="$OLD_{number}" NEW_LINE="$NEW_{number}"',
        "        export OLD_LINE NEW_LINE",
        f"        {edit.rewrite()}",
        f'        [ "$(line_of {path} {edit.line})" = "$NEW_{number}" ]',
        f"        echo {quote(f'{edit.where}: fixed')}",
        "        ;;",
    ]


def _puppet_quote(text: str) -> str:
    """A Puppet single-quoted string: only backslash and quote are escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def export_puppet(plan: FixPlan) -> str:
    out = [
        *_header(plan, "#"),
        "# Idempotent: each exec runs only while its line still has the old text.",
        "",
    ]
    for number, edit in enumerate(_edits(plan), 1):
        read = _READ_LINE.format(line=edit.line, file=quote(edit.path))
        onlyif = 'test "$(' + read + ')" = "$OLD_LINE"'
        out += [
            f"exec {{ {_puppet_quote(f'premortem fix {number}: {edit.where}')}:",
            f"  command     => {_puppet_quote(edit.rewrite())},",
            f"  onlyif      => {_puppet_quote(onlyif)},",
            f"  environment => [{_puppet_quote('OLD_LINE=' + edit.old)},",
            f"                  {_puppet_quote('NEW_LINE=' + edit.new)}],",
            "  provider    => shell,",
            "  path        => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'],",
            "}",
            "",
        ]
    return "\n".join(out)
