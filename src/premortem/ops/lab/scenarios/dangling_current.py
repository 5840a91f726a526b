"""The `dangling-current` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

MISSING_RELEASE = "releases/20200101T000000Z"


class DanglingCurrent(Scenario):
    """
    ## What it does
    A deploy switched `current` to a release it never finished copying (or one that cleanup
    removed): the DocumentRoot resolves to nothing and Apache refuses every request with 403
    ("Symbolic link not allowed or link target not accessible").

    ## Why it breaks sites
    GET / answers 403 on the apache lab; `premortem diagnose` names `docroot-missing`.

    ## Example
    `premortem lab break dangling-current --dir /srv/premortem-lab`, then `premortem
    diagnose http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    point `current` back at an existing release (rollback).
    """

    code = "dangling-current"
    summary = f"`current` points at {MISSING_RELEASE}, which does not exist: 403"
    expected = Expected(diagnosis="docroot-missing")
    http_status = 403
    order = 32
    servers = ("apache", "apache-fpm")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        journal.symlink(lab.paths.current, MISSING_RELEASE)
