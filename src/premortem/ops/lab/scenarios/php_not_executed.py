"""The `php-not-executed` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.apache import MODULES_DIR
from premortem.ops.lab.scenarios._helpers import edit_apache_config
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

LOAD_PHP = f"LoadModule php_module {MODULES_DIR}/libphp8.2.so\n"


class PhpNotExecuted(Scenario):
    """
    ## What it does
    The LoadModule line for libphp8.2.so is commented out (as `a2dismod php8.2` leaves it):
    GET / answers 200 with the raw `<?php` source of index.php, a leak of code (and, for
    wp-config.php, of the database password).

    ## Why it breaks sites
    GET / answers 200 on the apache lab; `premortem diagnose` names `php-not-executed`.

    ## Example
    `premortem lab break php-not-executed --dir /srv/premortem-lab`, then `premortem
    diagnose http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    load mod_php again.
    """

    code = "php-not-executed"
    summary = "mod_php not loaded: index.php served as source text (200, '<?php')"
    expected = Expected(diagnosis="php-not-executed")
    http_status = 200
    body_contains = "<?php"
    order = 34

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        edit_apache_config(lab, journal, LOAD_PHP, "# " + LOAD_PHP)
