"""nginx-stopped: the lab's nginx is not running (installed, configured, stopped).

The classic exercise "nginx is not running": nothing listens on the site's port, clients
get "connection refused", while php-fpm and MariaDB still run.
Fix: start nginx (`nginx -c <lab>/nginx/nginx.conf`).
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import StoppedService
from premortem.ops.lab.scenarios.base import Expected


class NginxStopped(StoppedService):
    code = "nginx-stopped"
    service = "nginx"
    summary = "the lab's nginx stopped (php-fpm still runs): connection refused"
    expected = Expected(diagnosis="server-down")
    http_status = None
    order = 14
    servers = ("nginx",)
