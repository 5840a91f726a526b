"""apache-stopped: the lab's Apache is not running (installed, configured, stopped).

Nothing listens on the site's port: clients get "connection refused".
Fix: start Apache (`apache2 -f <lab>/apache/httpd.conf -k start`).
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import StoppedService
from premortem.ops.lab.scenarios.base import Expected


class ApacheStopped(StoppedService):
    code = "apache-stopped"
    service = "apache"
    summary = "the lab's Apache stopped: connection refused"
    expected = Expected(diagnosis="server-down")
    http_status = None
    order = 14
