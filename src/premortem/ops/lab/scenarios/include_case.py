"""include-case: an include target with the wrong letter case (works on macOS, not Linux).

Line 155 of wp-settings.php asks for `Class-WP-Textdomain-Registry.php`; the file is
`class-wp-textdomain-registry.php`. Linux file names are case-sensitive: 500.
Fix: use the file's real case.
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import EditedLine
from premortem.ops.lab.scenarios.base import Expected


class IncludeCase(EditedLine):
    code = "include-case"
    summary = "wp-settings.php line 155 requires Class-WP-Textdomain-Registry.php (wrong case): 500"
    expected = Expected(diagnosis="missing-file", file="wp-settings.php", line=155, static=True)
    http_status = 500
    order = 21
    servers = ("apache", "nginx")

    old = "/class-wp-textdomain-registry.php'"
    new = "/Class-WP-Textdomain-Registry.php'"
