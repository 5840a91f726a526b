"""The `untraversable-dir` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ChangedMode
from premortem.ops.lab.scenarios.base import Expected


class UntraversableDir(ChangedMode):
    """
    ## What it does
    wp-includes/rest-api/ (root-owned) loses its execute bit for others: the files in it are
    fine, but PHP cannot reach them ("Permission denied"): 500.

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names
    `permission-denied` at `wp-includes/rest-api`.

    ## Example
    `premortem lab break untraversable-dir --dir /srv/premortem-lab`, then `premortem
    diagnose http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    chmod 0755 the directory.
    """

    code = "untraversable-dir"
    summary = "wp-includes/rest-api/ made untraversable for www-data (chmod 0700): 500"
    expected = Expected(diagnosis="permission-denied", file="wp-includes/rest-api")
    order = 23

    mode = 0o700
