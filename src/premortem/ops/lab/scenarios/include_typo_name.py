"""The `include-typo-name` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import EditedLine
from premortem.ops.lab.scenarios.base import Expected


class IncludeTypoName(EditedLine):
    """
    ## What it does
    Line 157 asks for `class-wp-locale-swicher.php` (a letter dropped) instead of
    `class-wp-locale-switcher.php`: every page 500, "Failed opening required".

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names `missing-file`
    at `wp-settings.php` line 157. `premortem check` sees it in the release before deploy.

    ## Example
    `premortem lab break include-typo-name --dir /srv/premortem-lab`, then `premortem
    diagnose http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    correct the name (did-you-mean: class-wp-locale-switcher.php).
    """

    code = "include-typo-name"
    summary = "wp-settings.php line 157 requires class-wp-locale-swicher.php (typo): 500"
    expected = Expected(diagnosis="missing-file", file="wp-settings.php", line=157, static=True)
    order = 20

    old = "/class-wp-locale-switcher.php'"
    new = "/class-wp-locale-swicher.php'"
