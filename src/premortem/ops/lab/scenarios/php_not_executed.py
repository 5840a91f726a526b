"""php-not-executed: mod_php is not loaded, so Apache serves PHP source as a file.

The LoadModule line for libphp8.2.so is commented out (as `a2dismod php8.2` leaves it):
GET / answers 200 with the raw `<?php` source of index.php, a leak of code (and, for
wp-config.php, of the database password). Fix: load mod_php again.
"""

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
    code = "php-not-executed"
    summary = "mod_php not loaded: index.php served as source text (200, '<?php')"
    expected = Expected(diagnosis="php-not-executed")
    http_status = 200
    body_contains = "<?php"
    order = 34

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        edit_apache_config(lab, journal, LOAD_PHP, "# " + LOAD_PHP)
