"""The `db-down` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import StoppedService
from premortem.ops.lab.scenarios.base import Expected


class DbDown(StoppedService):
    """
    ## What it does
    WordPress answers every page with "Error establishing a database connection" (500); the
    error log is silent, and nothing listens on the database port any more.

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names
    `database-connection`.

    ## Example
    `premortem lab break db-down --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    start the database server.
    """

    code = "db-down"
    service = "mariadb"
    summary = "the lab's MariaDB stopped: 'Error establishing a database connection' (500)"
    expected = Expected(diagnosis="database-connection")
    http_status = 500
    body_contains = "Error establishing a database connection"
    order = 12
    servers = ("apache", "nginx", "apache-fpm")
