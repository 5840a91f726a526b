"""The `disk-full` fault of the lab (documented on its class)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

from premortem.errors import PremortemError
from premortem.ops.lab import mariadb
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

SIZE = "64k"


class DiskFull(Scenario):
    """
    ## What it does
    The lab's MariaDB run directory becomes a small tmpfs (as /run is) filled to the last
    block; the database is restarted (as after a crash or a logrotate) and dies at once:
    "Can't start server: can't create PID file: No space left on device" (ENOSPC) in its
    log; WordPress answers "Error establishing a database connection" (500).

    ## Why it breaks sites
    GET / answers 500 on the apache lab; `premortem diagnose` names `disk-full`.

    ## Example
    `premortem lab break disk-full --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    free space on that filesystem (or grow it), then start the database.
    """

    code = "disk-full"
    summary = (
        f"MariaDB's run dir on a full {SIZE} tmpfs: restart fails with ENOSPC, "
        "'Error establishing a database connection' (500)"
    )
    expected = Expected(diagnosis="disk-full")
    http_status = 500
    body_contains = "Error establishing a database connection"
    order = 42
    servers = ("apache", "apache-fpm")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        run_dir = lab.paths.db_run
        journal.note_stopped("mariadb")
        mariadb.stop(lab.paths)
        journal.note("mounts", [str(run_dir)])
        mount = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(run_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mount.returncode != 0:
            raise PremortemError(f"cannot mount a tmpfs on {run_dir}: {mount.stderr.strip()}")
        shutil.chown(run_dir, "mysql", "mysql")
        _fill(run_dir / "filler")
        # The restart that fails: mariadbd exits as soon as it cannot write its PID file.
        with open(lab.paths.mariadb_log, "ab") as log:
            proc = subprocess.Popen(
                [mariadb.MARIADBD, f"--defaults-file={lab.paths.my_cnf}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise PremortemError("MariaDB started although its run dir is full") from None


def _fill(path: os.PathLike[str]) -> None:
    """Write zeros until the filesystem says ENOSPC."""
    block = b"\0" * 4096
    with open(path, "wb", buffering=0) as out:
        try:
            while True:
                out.write(block)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
