"""nginx-stopped: the lab's nginx is not running (installed, configured, stopped).

The classic exercise "nginx is not running": nothing listens on the site's port, clients
get "connection refused", while php-fpm and MariaDB still run.
Fix: start nginx (`nginx -c <lab>/nginx/nginx.conf`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab import nginx
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class NginxStopped(Scenario):
    code = "nginx-stopped"
    summary = "the lab's nginx stopped (php-fpm still runs): connection refused"
    expected = Expected(diagnosis="server-down")
    http_status = None
    order = 14
    servers = ("nginx",)

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        journal.note_stopped("nginx")
        nginx.stop(lab.paths)
