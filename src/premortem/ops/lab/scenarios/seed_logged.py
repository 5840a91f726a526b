"""The `seed-logged` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios.seed import Seed, inject_typo

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class SeedLogged(Seed):
    """
    ## What it does
    The seed's include typo (`class-wp-locale.phpp` at wp-settings.php line 156) with PHP's
    error logging left on, so the fatal error reaches the error log.

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names `missing-file`
    at `wp-settings.php` line 156. `premortem check` sees it in the release before deploy.

    ## Example
    `premortem lab break seed-logged --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    Correct the include to `class-wp-locale.php` (`premortem fix` applies the edit).
    """

    code = "seed-logged"
    summary = (
        "the seed's typo (class-wp-locale.phpp, wp-settings.php:156) with PHP error logging "
        "on: the fatal error reaches the error log"
    )
    order = 1

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        inject_typo(lab, journal)
