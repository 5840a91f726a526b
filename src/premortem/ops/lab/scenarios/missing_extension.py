"""The `missing-extension` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.errors import PremortemError
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


class MissingExtension(Scenario):
    """
    ## What it does
    The lab's mod_php loads the extensions listed in <lab>/php/conf.d (PHP_INI_SCAN_DIR);
    20-mysqli.ini is removed from it (as `phpdismod mysqli` does) and Apache restarted.
    WordPress falls back to the long-gone mysql_* API: "Call to undefined function
    mysql_connect()" in wp-includes/class-wpdb.php, 500.

    ## Why it breaks sites
    GET / answers 500 on the apache lab; `premortem diagnose` names `php-fatal` at
    `wp-includes/class-wpdb.php` line 1810.

    ## Example
    `premortem lab break missing-extension --dir /srv/premortem-lab`, then `premortem
    diagnose http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    install/enable the extension (Debian package php8.2-mysql, `phpenmod mysqli`).
    """

    code = "missing-extension"
    summary = "PHP extension mysqli disabled for the site: undefined mysql_connect(), 500"
    expected = Expected(diagnosis="php-fatal", file="wp-includes/class-wpdb.php", line=1810)
    http_status = 500
    order = 36

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        ini = lab.paths.php_conf_d / "20-mysqli.ini"
        if not ini.is_symlink():
            raise PremortemError(f"{ini} is missing: is php8.2-mysql installed?")
        journal.note_restart_apache()
        journal.remove(ini)
        lab.restart_apache()
