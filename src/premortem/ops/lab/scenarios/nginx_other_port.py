"""nginx-other-port: nginx runs, but listens on another port than the site's URL.

The classic exercise "nginx is not listening on 80": the lab's nginx.conf says
`listen 127.0.0.1:<another port>`, so the nginx processes are there, yet the URL's port
answers "connection refused". Fix: listen on the URL's port and reload nginx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.procs import free_port
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class NginxOtherPort(Scenario):
    code = "nginx-other-port"
    summary = "the lab's nginx listens on another port than the URL's: connection refused"
    expected = Expected(diagnosis="not-listening")
    http_status = None
    order = 30
    servers = ("nginx",)

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        port = lab._require_state().port
        other = free_port()
        journal.note("listen_port", other)
        journal.note_restart_apache()
        journal.replace_text(
            lab.paths.nginx_conf,
            f"listen 127.0.0.1:{port};\n",
            f"listen 127.0.0.1:{other};\n",
        )
        lab.restart_server()
