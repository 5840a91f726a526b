"""The `permission` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ChangedMode
from premortem.ops.lab.scenarios.base import Expected


class Permission(ChangedMode):
    """
    ## What it does
    `chmod 000 wp-includes/formatting.php` (as a careless deploy or a restrictive umask
    leaves it): PHP cannot open it, every page answers 500 and the log says "Permission
    denied".

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names
    `permission-denied` at `wp-includes/formatting.php`.

    ## Example
    `premortem lab break permission --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    give the file back its mode (0644).
    """

    code = "permission"
    summary = "wp-includes/formatting.php made unreadable (chmod 000): 500, EACCES"
    expected = Expected(diagnosis="permission-denied", file="wp-includes/formatting.php")
    order = 10

    mode = 0o000
