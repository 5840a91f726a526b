"""Small steps several scenarios share (not a scenario)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.errors import PremortemError

if TYPE_CHECKING:
    from pathlib import Path

    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


def replace_line(journal: FaultJournal, path: Path, line: int, old: str, new: str) -> None:
    """Replace old by new on one line (1-based) of path, checking the line holds old."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    if old not in lines[line - 1]:
        raise PremortemError(f"{path}:{line} does not hold {old!r}; is this Debian's WordPress?")
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    journal.write_bytes(path, "\n".join(lines).encode("utf-8"))


def edit_apache_config(lab: Lab, journal: FaultJournal, old: str, new: str) -> None:
    """Change the lab's httpd.conf and restart Apache so the change takes effect."""
    journal.note_restart_apache()
    journal.replace_text(lab.paths.httpd_conf, old, new)
    lab.restart_apache()
