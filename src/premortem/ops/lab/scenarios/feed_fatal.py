"""The `feed-fatal` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import Edit, PartialFault, page_helper_plugin
from premortem.ops.lab.scenarios.base import Expected

PLUGIN = "wp-content/mu-plugins/premortem-feed.php"
SOURCE = page_helper_plugin("feed")


class FeedFatal(PartialFault):
    """
    ## What it does
    wp-content/mu-plugins/premortem-feed.php calls `premortem_feed_helper()` (undefined) on
    line 9, only when WordPress serves a feed (`is_feed()`): /feed/ answers 500 ("Call to
    undefined function"), while `/`, the posts and `/wp-login.php` answer 200.

    ## Why it breaks sites
    Feed readers and aggregators get 500 and drop the site, and nobody sees it in a browser:
    the smoke paths of a deploy's stage (`/`, `/wp-login.php`) pass; only a replay of the
    URLs users requested (deploy's replay step) or watch after the fact catches it.
    `premortem diagnose http://127.0.0.1:8080/feed/` names `php-fatal` at the plugin, line 9.

    ## Example
    `premortem lab break feed-fatal --dir /srv/premortem-lab`; `curl -I
    http://127.0.0.1:8080/feed/` answers 500, `curl -I http://127.0.0.1:8080/` 200. A release
    with this fault (`FeedFatal.break_release(copy)`) is stopped by `premortem deploy`'s replay
    when /feed/ is in the recent access log, and goes live with `--no-replay`.

    ## Fix
    remove the plugin or define/require the function it needs; roll back the release.
    """

    code = "feed-fatal"
    summary = "a mu-plugin calls an undefined function on feeds only: /feed/ answers 500, / 200"
    expected = Expected(diagnosis="php-fatal", file=PLUGIN, line=9)
    broken_path = "/feed/"
    order = 36
    edits = (Edit(PLUGIN, SOURCE),)
