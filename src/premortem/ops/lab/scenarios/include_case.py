"""The `include-case` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import EditedLine
from premortem.ops.lab.scenarios.base import Expected


class IncludeCase(EditedLine):
    """
    ## What it does
    Line 155 of wp-settings.php asks for `Class-WP-Textdomain-Registry.php`; the file is
    `class-wp-textdomain-registry.php`. Linux file names are case-sensitive: 500.

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names `missing-file`
    at `wp-settings.php` line 155. `premortem check` sees it in the release before deploy.

    ## Example
    `premortem lab break include-case --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    use the file's real case.
    """

    code = "include-case"
    summary = "wp-settings.php line 155 requires Class-WP-Textdomain-Registry.php (wrong case): 500"
    expected = Expected(diagnosis="missing-file", file="wp-settings.php", line=155, static=True)
    order = 21

    old = "/class-wp-textdomain-registry.php'"
    new = "/Class-WP-Textdomain-Registry.php'"
