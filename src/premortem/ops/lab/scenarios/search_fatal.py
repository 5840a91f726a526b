"""The `search-fatal` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import Edit, PartialFault, page_helper_plugin
from premortem.ops.lab.scenarios.base import Expected

PLUGIN = "wp-content/mu-plugins/premortem-search.php"
SOURCE = page_helper_plugin("search")


class SearchFatal(PartialFault):
    """
    ## What it does
    wp-content/mu-plugins/premortem-search.php calls `premortem_search_helper()` (undefined)
    on line 9, only for search results (`is_search()`): /?s=hello answers 500, every other
    page 200.

    ## Why it breaks sites
    Visitors who search get an error page; the smoke paths pass, so the stage lets the
    release through unless the replay requests a logged search URL (query strings are kept).

    ## Example
    `premortem lab break search-fatal --dir /srv/premortem-lab`; `curl -I
    'http://127.0.0.1:8080/?s=hello'` answers 500. `premortem diagnose
    'http://127.0.0.1:8080/?s=hello'` names `php-fatal` at the plugin, line 9.

    ## Fix
    remove the plugin or define/require the function it needs; roll back the release.
    """

    code = "search-fatal"
    summary = "a mu-plugin calls an undefined function on search results only: /?s=hello 500, / 200"
    expected = Expected(diagnosis="php-fatal", file=PLUGIN, line=9)
    broken_path = "/?s=hello"
    order = 37
    edits = (Edit(PLUGIN, SOURCE),)
