"""Export a fix plan as a reviewable, idempotent shell script or Puppet manifest.

Both check each edited line before touching anything: a line that already reads the new
text is left alone ("already applied"), a line that reads neither the old nor the new text
stops the run with an error and changes nothing. The line texts travel in environment
variables read by awk's ENVIRON, which (unlike `awk -v` or sed) interprets no escapes, so a
line with backslashes, quotes or `$` is matched and written exactly. Files are replaced by
a temporary file in the same directory with the original's owner and mode, then a rename.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

from premortem.ops.remedy.plan import FixPlan

_READ_LINE = "awk -v n={line} 'NR == n {{ print; exit }}' {file}"
_REWRITE = (
    "tmp=$(mktemp {dir}/.premortem-fix.XXXXXX) && "
    'awk -v n={line} \'NR == n && $0 == ENVIRON["OLD_LINE"] {{ print ENVIRON["NEW_LINE"]; next }}'
    ' {{ print }}\' {file} > "$tmp" && '
    'chown --reference={file} "$tmp" && chmod --reference={file} "$tmp" && '
    'mv -f "$tmp" {file}'
)


def _edits(plan: FixPlan) -> list[tuple[str, str, int, str, str]]:
    """(real path, display name, line, old line, new line) of every line to change."""
    out: list[tuple[str, str, int, str, str]] = []
    for file_plan in plan.files:
        for change in file_plan.changes:
            before = change.before if not change.already_applied else change.after
            out.append((str(file_plan.path), file_plan.display, change.line, before, change.after))
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


def export_shell(plan: FixPlan) -> str:
    edits = _edits(plan)
    out = ["#!/bin/sh", *_header(plan, "#")]
    out += [
        "# Idempotent: run it twice, the second run changes nothing. Review before running.",
        "set -eu",
        "stamp=$(date -u +%Y%m%dT%H%M%SZ)",
        'backup_dir="${PREMORTEM_BACKUP_DIR:-/var/backups/premortem-fix-$stamp}"',
        "",
        'line_of() { awk -v n="$2" \'NR == n { print; exit }\' "$1"; }',
        "",
        "# 1. Check every line first: nothing is changed unless all are as expected.",
        "todo=''",
    ]
    for number, (path, display, line, old, new) in enumerate(edits, 1):
        q = shlex.quote
        out += [
            f"OLD_{number}={q(old)}",
            f"NEW_{number}={q(new)}",
            f"current=$(line_of {q(path)} {line})",
            f'if [ "$current" = "$NEW_{number}" ]; then',
            f"    echo {q(f'{display}:{line}: already applied')}",
            f'elif [ "$current" = "$OLD_{number}" ]; then',
            f'    todo="$todo {number}"',
            "else",
            f"    echo {q(f'{display}:{line}: unexpected content; not changing anything')} >&2",
            "    exit 1",
            "fi",
        ]
    out += [
        "",
        "# 2. Back up, then rewrite each line atomically (same owner and mode).",
        "for n in $todo; do",
        "    case $n in",
    ]
    for number, (path, display, line, _old, _new) in enumerate(edits, 1):
        q = shlex.quote
        directory = q(path.rsplit("/", 1)[0] or "/")
        rewrite = _REWRITE.format(dir=directory, line=line, file=q(path))
        out += [
            f"    {number})",
            '        mkdir -p "$backup_dir"',
            f'        cp -p {q(path)} "$backup_dir/{number}-$(basename {q(path)})"',
            f'        OLD_LINE="$OLD_{number}" NEW_LINE="$NEW_{number}"',
            "        export OLD_LINE NEW_LINE",
            f"        {rewrite}",
            f'        [ "$(line_of {q(path)} {line})" = "$NEW_{number}" ]',
            f"        echo {q(f'{display}:{line}: fixed')}",
            "        ;;",
        ]
    out += ["    esac", "done", ""]
    return "\n".join(out)


def _puppet_quote(text: str) -> str:
    """A Puppet single-quoted string: only backslash and quote are escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def export_puppet(plan: FixPlan) -> str:
    edits = _edits(plan)
    out = [
        *_header(plan, "#"),
        "# Idempotent: each exec runs only while its line still has the old text.",
        "",
    ]
    for number, (path, display, line, old, new) in enumerate(edits, 1):
        q = shlex.quote
        directory = q(path.rsplit("/", 1)[0] or "/")
        read = _READ_LINE.format(line=line, file=q(path))
        rewrite = _REWRITE.format(dir=directory, line=line, file=q(path))
        title = f"premortem fix {number}: {display}:{line}"
        onlyif = 'test "$(' + read + ')" = "$OLD_LINE"'
        out += [
            f"exec {{ {_puppet_quote(title)}:",
            f"  command     => {_puppet_quote(rewrite)},",
            f"  onlyif      => {_puppet_quote(onlyif)},",
            f"  environment => [{_puppet_quote('OLD_LINE=' + old)},",
            f"                  {_puppet_quote('NEW_LINE=' + new)}],",
            "  provider    => shell,",
            "  path        => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'],",
            "}",
            "",
        ]
    return "\n".join(out)
