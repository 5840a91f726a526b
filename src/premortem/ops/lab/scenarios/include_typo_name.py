"""include-typo-name: a misspelt include target name in wp-settings.php.

Line 157 asks for `class-wp-locale-swicher.php` (a letter dropped) instead of
`class-wp-locale-switcher.php`: every page 500, "Failed opening required".
Fix: correct the name (did-you-mean: class-wp-locale-switcher.php).
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import EditedLine
from premortem.ops.lab.scenarios.base import Expected


class IncludeTypoName(EditedLine):
    code = "include-typo-name"
    summary = "wp-settings.php line 157 requires class-wp-locale-swicher.php (typo): 500"
    expected = Expected(diagnosis="missing-file", file="wp-settings.php", line=157, static=True)
    http_status = 500
    order = 20
    servers = ("apache", "nginx")

    old = "/class-wp-locale-switcher.php'"
    new = "/class-wp-locale-swicher.php'"
