"""db-down: the lab's MariaDB is stopped.

WordPress answers every page with "Error establishing a database connection" (500); the
error log is silent, and nothing listens on the database port any more.
Fix: start the database server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab import mariadb
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class DbDown(Scenario):
    code = "db-down"
    summary = "the lab's MariaDB stopped: 'Error establishing a database connection' (500)"
    expected = Expected(diagnosis="database-connection")
    http_status = 500
    body_contains = "Error establishing a database connection"
    order = 12
    servers = ("apache", "nginx")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        journal.note_stopped("mariadb")
        mariadb.stop(lab.paths)
