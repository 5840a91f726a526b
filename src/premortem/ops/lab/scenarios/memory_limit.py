"""memory-limit: PHP's memory_limit is too small for WordPress.

The site's PHP settings say `php_admin_value memory_limit 4M` (php_admin: WordPress cannot
raise it): "Allowed memory size of 4194304 bytes exhausted", 500.
Fix: raise memory_limit (WordPress wants at least 40M).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

LIMIT_LINE = "    php_admin_value memory_limit 4M\n"


class MemoryLimit(Scenario):
    code = "memory-limit"
    summary = "PHP memory_limit 4M for the site: 'Allowed memory size exhausted', 500"
    expected = Expected(diagnosis="php-fatal")
    http_status = 500
    order = 33

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        conf = lab.paths.php_site_conf
        journal.note_restart_apache()
        journal.replace_text(conf, "</IfModule>\n", LIMIT_LINE + "</IfModule>\n")
        lab.restart_apache()
