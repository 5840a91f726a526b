"""db-down: the lab's MariaDB is stopped.

WordPress answers every page with "Error establishing a database connection" (500); the
error log is silent, and nothing listens on the database port any more.
Fix: start the database server.
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import StoppedService
from premortem.ops.lab.scenarios.base import Expected


class DbDown(StoppedService):
    code = "db-down"
    service = "mariadb"
    summary = "the lab's MariaDB stopped: 'Error establishing a database connection' (500)"
    expected = Expected(diagnosis="database-connection")
    http_status = 500
    body_contains = "Error establishing a database connection"
    order = 12
    servers = ("apache", "nginx")
