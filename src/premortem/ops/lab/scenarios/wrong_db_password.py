"""The `wrong-db-password` fault of the lab (documented on its class)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from premortem.errors import PremortemError
from premortem.ops.lab.scenarios._helpers import SiteFault
from premortem.ops.lab.scenarios.base import Expected

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

PASSWORD_LINE = re.compile(rb"define\('DB_PASSWORD', '[^']*'\);")


class WrongDbPassword(SiteFault):
    """
    ## What it does
    wp-config.php's DB_PASSWORD is changed to a password the lab's MariaDB rejects:
    WordPress answers "Error establishing a database connection" (500), and MariaDB logs
    "Access denied for user 'wordpress'@'localhost'".

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names
    `database-connection` at `wp-config.php` line 5.

    ## Example
    `premortem lab break wrong-db-password --dir /srv/premortem-lab`, then `premortem
    diagnose http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    Put the database user's real password in DB_PASSWORD (or reset it in the database).
    """

    code = "wrong-db-password"
    summary = "wp-config.php DB_PASSWORD wrong: 'Error establishing a database connection'"
    expected = Expected(diagnosis="database-connection", file="wp-config.php", line=5)
    body_contains = "Error establishing a database connection"
    order = 24

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        config = lab.paths.shared_wp_config
        text = config.read_bytes()
        if len(PASSWORD_LINE.findall(text)) != 1:
            raise PremortemError(f"{config} does not define DB_PASSWORD once")
        journal.write_bytes(
            config, PASSWORD_LINE.sub(b"define('DB_PASSWORD', 'not-the-password');", text)
        )
