"""include-case: an include target with the wrong letter case (works on macOS, not Linux).

Line 155 of wp-settings.php asks for `Class-WP-Textdomain-Registry.php`; the file is
`class-wp-textdomain-registry.php`. Linux file names are case-sensitive: 500.
Fix: use the file's real case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios._helpers import replace_line
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class IncludeCase(Scenario):
    code = "include-case"
    summary = "wp-settings.php line 155 requires Class-WP-Textdomain-Registry.php (wrong case): 500"
    expected = Expected(diagnosis="missing-file", file="wp-settings.php", line=155, static=True)
    http_status = 500
    order = 21
    servers = ("apache", "nginx")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        replace_line(
            journal,
            lab.release_dir / "wp-settings.php",
            155,
            "/class-wp-textdomain-registry.php'",
            "/Class-WP-Textdomain-Registry.php'",
        )
