"""The `include-deleted` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios._helpers import SiteFault
from premortem.ops.lab.scenarios.base import Expected

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class IncludeDeleted(SiteFault):
    """
    ## What it does
    wp-includes/class-wp-locale-switcher.php is gone (a release built without it); line 157
    of wp-settings.php fails to open it: 500.

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names `missing-file`
    at `wp-settings.php` line 157. `premortem check` sees it in the release before deploy.

    ## Example
    `premortem lab break include-deleted --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    restore the file (or roll back).
    """

    code = "include-deleted"
    summary = (
        "wp-includes/class-wp-locale-switcher.php deleted; wp-settings.php line 157 needs it: 500"
    )
    expected = Expected(diagnosis="missing-file", file="wp-settings.php", line=157, static=True)
    order = 22

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        journal.remove(lab.release_dir / "wp-includes" / "class-wp-locale-switcher.php")
