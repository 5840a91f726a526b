"""Apache + php-fpm: the pool behind the site's proxy_fcgi handler, for stage, switch and fix.

Apache hands PHP to php-fpm with SCRIPT_FILENAME as Apache mapped the URL: through the
`current` link (Apache does not resolve it), as nginx's `$document_root` does. So after a
switch the pool's workers hold the old release in their realpath caches and, with opcache
on, its compiled scripts under the same `current/` paths: the pool is refreshed exactly as
for nginx with `$document_root` (phpfpm.py: a reload when process_control_timeout > 0, else
the workers one by one when opcache is off, else deploy refuses). Apache itself (the event
MPM, no PHP in its processes) keeps no cache of the link and needs no restart.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from premortem.readers.apache import read_apache_config, site_summary
from premortem.readers.apache_handler import fcgi_handlers
from premortem.siteconfig import SiteConfig

APACHE_CUT_WARNING = (
    "php-fpm has process_control_timeout = 0 and opcache on, and Apache passes "
    "SCRIPT_FILENAME through the `current` link: only a php-fpm reload makes PHP run the new "
    "code, and that reload cuts requests in flight. Set process_control_timeout = 10s in "
    "php-fpm's global section (a reload then lets workers finish)"
)


def apache_fcgi_address(config: SiteConfig) -> str:
    """The php-fpm address the site's Apache vhost hands .php files to ("" with mod_php)."""
    if config.server != "apache" or not config.server_config:
        return ""
    parts = urlsplit(config.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    apache = read_apache_config(config.server_config)
    site = site_summary(apache, port, parts.hostname or "127.0.0.1")
    handlers = fcgi_handlers(apache, site.vhost)
    return handlers[0].address if handlers else ""
