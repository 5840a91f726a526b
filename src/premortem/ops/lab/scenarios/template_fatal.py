"""The `template-fatal` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import Edit, PartialFault
from premortem.ops.lab.scenarios.base import Expected

TEMPLATE = "wp-content/themes/twentytwentyone/page.php"
# Line 12 of the template as the theme ships it, and with the fault (same line).
GOOD = "get_header();\n\n/* Start the Loop */"
BROKEN = "premortem_page_helper(); get_header();\n\n/* Start the Loop */"


class TemplateFatal(PartialFault):
    """
    ## What it does
    The theme's page template (wp-content/themes/twentytwentyone/page.php) calls
    `premortem_page_helper()` (undefined) on line 12, before `get_header()`: every page
    (/sample-page/) answers 500, while the home page and posts (other templates) answer 200.

    ## Why it breaks sites
    One template of a theme update is broken: the pages that use it fail, the rest of the
    site works, and the smoke paths (`/`, `/wp-login.php`) do not use it.

    ## Example
    `premortem lab break template-fatal --dir /srv/premortem-lab`; `curl -I
    http://127.0.0.1:8080/sample-page/` answers 500, `/` 200. `premortem diagnose
    http://127.0.0.1:8080/sample-page/` names `php-fatal` at page.php line 12.

    ## Fix
    restore the template from the theme's release (or roll back the release).
    """

    code = "template-fatal"
    summary = "the theme's page template calls an undefined function: /sample-page/ 500, / 200"
    expected = Expected(diagnosis="php-fatal", file=TEMPLATE, line=12)
    broken_path = "/sample-page/"
    order = 38
    edits = (Edit(TEMPLATE, BROKEN, GOOD),)
