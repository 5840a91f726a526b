"""The `memory-limit` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

LIMIT_LINE = "    php_admin_value memory_limit 4M\n"


class MemoryLimit(Scenario):
    """
    ## What it does
    The site's PHP settings say `php_admin_value memory_limit 4M` (php_admin: WordPress
    cannot raise it): "Allowed memory size of 4194304 bytes exhausted", 500.

    ## Why it breaks sites
    GET / answers 500 on the apache lab; `premortem diagnose` names `php-fatal`.

    ## Example
    `premortem lab break memory-limit --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    raise memory_limit (WordPress wants at least 40M).
    """

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
