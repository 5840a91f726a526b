"""The `open-files` fault of the lab (documented on its class)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from premortem.errors import PremortemError
from premortem.ops.lab import apache
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

# Measured on the lab: an idle worker's descriptors + 3 fails every request at
# wp-includes/load.php:717 (after the DB connection), + 2 at the first include, + 4 serves.
HEADROOM = (3, 2)


def idle_worker_fds(lab: Lab) -> int:
    counts = [len(os.listdir(f"/proc/{pid}/fd")) for pid in apache.DAEMON.worker_pids(lab.paths)]
    if not counts:
        raise PremortemError("the lab's Apache has no workers to measure")
    return max(counts)


class OpenFiles(Scenario):
    """
    ## What it does
    Apache is restarted under a `ulimit -n` just above what an idle worker holds (as a bad
    systemd LimitNOFILE= or /etc/security/limits.conf line does; about 12 here): once the
    worker holds its listening socket, logs, the client connection and the database socket,
    PHP cannot open the next include, "Failed to open stream: Too many open files" (EMFILE),
    500.

    ## Why it breaks sites
    GET / answers 500 on the apache lab; `premortem diagnose` names `too-many-open-files`.

    ## Example
    `premortem lab break open-files --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    raise the limit (LimitNOFILE) and restart Apache.
    """

    code = "open-files"
    summary = "Apache restarted with an open-file limit of ~12 descriptors: EMFILE, 500"
    expected = Expected(diagnosis="too-many-open-files")
    http_status = 500
    order = 40

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        idle = idle_worker_fds(lab)
        journal.note_restart_apache()
        for headroom in HEADROOM:
            journal.note("nofile", idle + headroom)
            lab.restart_apache(graceful=False)
            if lab.get("/").status_code == 500:
                return
        raise PremortemError(f"an open-file limit of {idle + HEADROOM[-1]} did not break the site")
