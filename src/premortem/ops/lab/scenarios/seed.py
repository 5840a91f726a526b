"""The `seed` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios._helpers import SiteFault
from premortem.ops.lab.scenarios.base import Expected

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

SEED_INCLUDE = "require_once ABSPATH . WPINC . '/class-wp-locale.php';"
SEED_TYPO = "require_once ABSPATH . WPINC . '/class-wp-locale.phpp';"


def inject_typo(lab: Lab, journal: FaultJournal) -> None:
    journal.replace_text(lab.release_dir / "wp-settings.php", SEED_INCLUDE, SEED_TYPO)


def set_php_logging(lab: Lab, journal: FaultJournal, *, log_errors: bool) -> None:
    """Rewrite the site's PHP settings and reload PHP so its workers pick them up.

    Apache: php-site.conf, graceful restart; nginx: php-fpm's pool file, SIGUSR2.
    """
    server = lab.server
    journal.note_restart_apache()
    journal.write_bytes(
        server.php_settings_file(lab.paths),
        server.render_php_settings(lab.paths, log_errors=log_errors).encode(),
    )
    lab.reload_php()


class Seed(SiteFault):
    """
    ## What it does
    A release asks for `wp-includes/class-wp-locale.phpp` in wp-settings.php (line 156 of
    Debian's WordPress 6.1) and PHP's error logging is off for the site (log_errors off,
    display_errors off), so every page answers 500 and the error log stays silent: only
    tracing the workers (the failed open of the .phpp file) finds it.

    ## Why it breaks sites
    GET / answers 500 on the apache and nginx lab; `premortem diagnose` names `missing-file`
    at `wp-settings.php` line 156. `premortem check` sees it in the release before deploy.

    ## Example
    `premortem lab break seed --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    Correct the include to `class-wp-locale.php` (`premortem fix` applies the edit), and
    turn PHP's error logging back on.
    """

    code = "seed"
    summary = (
        "the seed incident: wp-settings.php line 156 requires class-wp-locale.phpp, "
        "PHP error logging off for the site (GET / 500, silent error log)"
    )
    expected = Expected(diagnosis="missing-file", file="wp-settings.php", line=156, static=True)
    order = 0

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        set_php_logging(lab, journal, log_errors=False)
        inject_typo(lab, journal)
