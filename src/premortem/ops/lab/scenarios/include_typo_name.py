"""include-typo-name: a misspelt include target name in wp-settings.php.

Line 157 asks for `class-wp-locale-swicher.php` (a letter dropped) instead of
`class-wp-locale-switcher.php`: every page 500, "Failed opening required".
Fix: correct the name (did-you-mean: class-wp-locale-switcher.php).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios._helpers import replace_line
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class IncludeTypoName(Scenario):
    code = "include-typo-name"
    summary = "wp-settings.php line 157 requires class-wp-locale-swicher.php (typo): 500"
    expected = Expected(diagnosis="missing-file", file="wp-settings.php", line=157, static=True)
    http_status = 500
    order = 20
    servers = ("apache", "nginx")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        replace_line(
            journal,
            lab.release_dir / "wp-settings.php",
            157,
            "/class-wp-locale-switcher.php'",
            "/class-wp-locale-swicher.php'",
        )
