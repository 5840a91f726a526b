"""apache-stopped: the lab's Apache is not running (installed, configured, stopped).

Nothing listens on the site's port: clients get "connection refused".
Fix: start Apache (`apache2 -f <lab>/apache/httpd.conf -k start`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab import apache
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class ApacheStopped(Scenario):
    code = "apache-stopped"
    summary = "the lab's Apache stopped: connection refused"
    expected = Expected(diagnosis="server-down")
    http_status = None
    order = 14

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        journal.note_stopped("apache")
        apache.stop(lab.paths)
