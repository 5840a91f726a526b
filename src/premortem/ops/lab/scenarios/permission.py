"""permission: a file WordPress requires on every request is unreadable for www-data.

`chmod 000 wp-includes/formatting.php` (as a careless deploy or a restrictive umask leaves
it): PHP cannot open it, every page answers 500 and the log says "Permission denied".
Fix: give the file back its mode (0644).
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ChangedMode
from premortem.ops.lab.scenarios.base import Expected


class Permission(ChangedMode):
    code = "permission"
    summary = "wp-includes/formatting.php made unreadable (chmod 000): 500, EACCES"
    expected = Expected(diagnosis="permission-denied", file="wp-includes/formatting.php")
    http_status = 500
    order = 10
    servers = ("apache", "nginx")

    mode = 0o000
