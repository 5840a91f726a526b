"""seed-logged: the seed's include typo with PHP error logging on (the fatal is logged)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios.base import Expected, Scenario
from premortem.ops.lab.scenarios.seed import inject_typo

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class SeedLogged(Scenario):
    code = "seed-logged"
    summary = (
        "the seed's typo (class-wp-locale.phpp, wp-settings.php:156) with PHP error logging "
        "on: the fatal error reaches the error log"
    )
    expected = Expected(diagnosis="missing-file", file="wp-settings.php", line=156, static=True)
    http_status = 500
    order = 1
    servers = ("apache", "nginx")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        inject_typo(lab, journal)
