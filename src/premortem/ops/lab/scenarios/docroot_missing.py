"""The `docroot-missing` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class DocrootMissing(Scenario):
    """
    ## What it does
    httpd.conf says `DocumentRoot "<site>/htdocs"` (an old layout) and that directory was
    removed while Apache runs (Apache 2.4 refuses to start on a missing DocumentRoot, so the
    outage begins at the next cleanup, not at the config change): every request 404.

    ## Why it breaks sites
    GET / answers 404 on the apache lab; `premortem diagnose` names `docroot-missing`.

    ## Example
    `premortem lab break docroot-missing --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    point DocumentRoot at the site's `current` link (or restore the directory).
    """

    code = "docroot-missing"
    summary = "DocumentRoot points at a directory that does not exist: 404 everywhere"
    expected = Expected(diagnosis="docroot-missing")
    http_status = 404
    order = 31
    servers = ("apache", "apache-fpm")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        docroot = lab.paths.current
        old_layout = docroot.parent / "htdocs"
        journal.note_restart_apache()
        journal.replace_text(
            lab.paths.httpd_conf, f'DocumentRoot "{docroot}"\n', f'DocumentRoot "{old_layout}"\n'
        )
        journal.mkdir(old_layout)
        lab.restart_apache()
        old_layout.rmdir()
