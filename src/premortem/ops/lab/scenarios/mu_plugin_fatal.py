"""The `mu-plugin-fatal` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios._helpers import SiteFault
from premortem.ops.lab.scenarios.base import Expected

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

PLUGIN = "wp-content/mu-plugins/premortem-broken.php"
SOURCE = b"""<?php
/**
 * Plugin Name: premortem broken helper (lab fault)
 * Description: calls a helper that a missing library would define.
 */

premortem_missing_helper();
"""


class MuPluginFatal(SiteFault):
    """
    ## What it does
    wp-content/mu-plugins/premortem-broken.php (loaded on every request, before the theme)
    calls `premortem_missing_helper()` on line 7: "Call to undefined function", 500.

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names `php-fatal` at
    `wp-content/mu-plugins/premortem-broken.php` line 7.

    ## Example
    `premortem lab break mu-plugin-fatal --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    remove the plugin or define/require the function it needs.
    """

    code = "mu-plugin-fatal"
    summary = f"{PLUGIN} calls an undefined function on line 7: fatal error, 500"
    expected = Expected(diagnosis="php-fatal", file=PLUGIN, line=7)
    order = 35

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        journal.create_file(lab.release_dir / PLUGIN, SOURCE)
