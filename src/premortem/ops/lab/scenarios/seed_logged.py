"""seed-logged: the seed's include typo with PHP error logging on (the fatal is logged)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios.seed import Seed, inject_typo

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class SeedLogged(Seed):
    """The seed with PHP's error logging left on: the fatal error reaches the error log."""

    code = "seed-logged"
    summary = (
        "the seed's typo (class-wp-locale.phpp, wp-settings.php:156) with PHP error logging "
        "on: the fatal error reaches the error log"
    )
    order = 1

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        inject_typo(lab, journal)
