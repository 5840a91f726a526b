"""untraversable-dir: a directory of the release that www-data cannot enter (mode 0700).

wp-includes/rest-api/ (root-owned) loses its execute bit for others: the files in it are
fine, but PHP cannot reach them ("Permission denied"): 500. Fix: chmod 0755 the directory.
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ChangedMode
from premortem.ops.lab.scenarios.base import Expected


class UntraversableDir(ChangedMode):
    code = "untraversable-dir"
    summary = "wp-includes/rest-api/ made untraversable for www-data (chmod 0700): 500"
    expected = Expected(diagnosis="permission-denied", file="wp-includes/rest-api")
    http_status = 500
    order = 23
    servers = ("apache", "nginx")

    mode = 0o700
