"""wrong-db-password: wp-config.php holds a password the database rejects.

DB_PASSWORD (line 5 of the lab's wp-config.php) no longer matches the database user's:
"Error establishing a database connection" (500); MariaDB logs "Access denied".
Fix: put the right password back (or reset the user's password).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from premortem.errors import PremortemError
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

PASSWORD_LINE = re.compile(rb"define\('DB_PASSWORD', '[^']*'\);")


class WrongDbPassword(Scenario):
    code = "wrong-db-password"
    summary = "wp-config.php DB_PASSWORD wrong: 'Error establishing a database connection'"
    expected = Expected(diagnosis="database-connection", file="wp-config.php", line=5)
    http_status = 500
    body_contains = "Error establishing a database connection"
    order = 24
    servers = ("apache", "nginx")

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        config = lab.paths.shared_wp_config
        text = config.read_bytes()
        if len(PASSWORD_LINE.findall(text)) != 1:
            raise PremortemError(f"{config} does not define DB_PASSWORD once")
        journal.write_bytes(
            config, PASSWORD_LINE.sub(b"define('DB_PASSWORD', 'not-the-password');", text)
        )
