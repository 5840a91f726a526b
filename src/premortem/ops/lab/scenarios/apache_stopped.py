"""The `apache-stopped` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import StoppedService
from premortem.ops.lab.scenarios.base import Expected


class ApacheStopped(StoppedService):
    """
    ## What it does
    Nothing listens on the site's port: clients get "connection refused".

    ## Why it breaks sites
    GET / gets no answer (connection refused) on the apache lab; `premortem diagnose` names
    `server-down`.

    ## Example
    `premortem lab break apache-stopped --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    start Apache (`apache2 -f <lab>/apache/httpd.conf -k start`).
    """

    code = "apache-stopped"
    service = "apache"
    summary = "the lab's Apache stopped: connection refused"
    expected = Expected(diagnosis="server-down")
    http_status = None
    order = 14
    servers = ("apache", "apache-fpm")
