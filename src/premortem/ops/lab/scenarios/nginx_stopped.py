"""The `nginx-stopped` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import StoppedService
from premortem.ops.lab.scenarios.base import Expected


class NginxStopped(StoppedService):
    """
    ## What it does
    The classic exercise "nginx is not running": nothing listens on the site's port, clients
    get "connection refused", while php-fpm and MariaDB still run.

    ## Why it breaks sites
    GET / gets no answer (connection refused) on the nginx lab; `premortem diagnose` names
    `server-down`.

    ## Example
    `premortem lab break nginx-stopped --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    start nginx (`nginx -c <lab>/nginx/nginx.conf`).
    """

    code = "nginx-stopped"
    service = "nginx"
    summary = "the lab's nginx stopped (php-fpm still runs): connection refused"
    expected = Expected(diagnosis="server-down")
    http_status = None
    order = 14
    servers = ("nginx",)
