"""apache-other-port: Apache runs, but listens on another port than the site's URL.

The lab's httpd.conf says `Listen 127.0.0.1:<another port>`: the Apache processes are
there, yet the URL's port answers "connection refused". Fix: Listen on the URL's port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.procs import free_port
from premortem.ops.lab.scenarios._helpers import edit_apache_config
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class ApacheOtherPort(Scenario):
    code = "apache-other-port"
    summary = "the lab's Apache listens on another port than the URL's: connection refused"
    expected = Expected(diagnosis="not-listening")
    http_status = None
    order = 30

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        port = lab._require_state().port
        other = free_port()
        journal.note("listen_port", other)
        edit_apache_config(
            lab, journal, f"Listen 127.0.0.1:{port}\n", f"Listen 127.0.0.1:{other}\n"
        )
