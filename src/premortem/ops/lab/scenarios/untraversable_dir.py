"""untraversable-dir: a directory of the release that www-data cannot enter (mode 0700).

wp-includes/rest-api/ (root-owned) loses its execute bit for others: the files in it are
fine, but PHP cannot reach them ("Permission denied"): 500. Fix: chmod 0755 the directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class UntraversableDir(Scenario):
    code = "untraversable-dir"
    summary = "wp-includes/rest-api/ made untraversable for www-data (chmod 0700): 500"
    expected = Expected(diagnosis="permission-denied", file="wp-includes/rest-api")
    http_status = 500
    order = 23
    servers = ("apache", "nginx")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        journal.chmod(lab.release_dir / "wp-includes" / "rest-api", 0o700)
