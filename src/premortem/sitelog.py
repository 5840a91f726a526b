"""How to read one site's access log: its format, and which lines are the site's when the
log is shared by several sites (Debian's other_vhosts_access.log).

The format is the site config's ``access_log_format`` (see `premortem.siteconfig`), else
what the server's config says about the log being read (diagnose has it in its evidence),
else combined. When the format logs where each request was served (``%v``/``%p``,
``$host``/``$server_port``), the site's lines are those of its names and port: the URL's
host and port, plus the ServerName/ServerAlias (Apache) or server_name (nginx) of the
virtual host serving that URL, read from the server config. The port is the one the log
shows: Apache's ``%p`` is the ServerName's port, else the scheme's default (80, 443), even
for a vhost that listens on another port. Read-only.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from premortem.accesslog import COMBINED, AccessLogFormat, SiteFilter, SiteLog
from premortem.errors import InputError
from premortem.readers.apache import ApacheSite, read_apache_config
from premortem.readers.apache import site_summary as apache_site_summary
from premortem.readers.nginx import NginxSite, read_nginx_config
from premortem.readers.nginx import site_summary as nginx_site_summary
from premortem.siteconfig import SiteConfig

DEFAULT_SERVER_CONFIGS = {"apache": "/etc/apache2/apache2.conf", "nginx": "/etc/nginx/nginx.conf"}
DEFAULT_PORTS = {"http": 80, "https": 443}


def access_log_format(spec: str) -> AccessLogFormat:
    """A site config's access_log_format, or an InputError that names the key."""
    try:
        return AccessLogFormat.from_spec(spec)
    except ValueError as exc:
        raise InputError(f"site config: {exc}") from None


def site_log_of(
    config: SiteConfig | None,
    *,
    url: str = "",
    spec: str = "",
    server: ApacheSite | NginxSite | None = None,
) -> SiteLog:
    """The SiteLog of the site at `url` (default: the config's URL). `spec`: a format given
    on the command line, before the config's; `server`: what the server's config says of
    the site, when the caller has read it (its format is used for its own access log)."""
    spec = spec or (config.access_log_format if config else "")
    reading = config.access_log if config else ""
    if not spec and server is not None and (not reading or reading == server.access_log):
        spec = server.access_log_format
    log_format = access_log_format(spec) if spec else COMBINED
    if not (log_format.logs_vhost or log_format.logs_port):
        return SiteLog(log_format)
    url = url or (config.url if config else "")
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    names = {parts.hostname} if parts.hostname else set()
    if server is None and config is not None and port is not None:
        server = _server_site(config, port, parts.hostname or "")
    names |= _names_of(server)
    if log_format.logs_canonical_port and port is not None:
        port = _canonical_port(server, DEFAULT_PORTS.get(parts.scheme, port))
    return SiteLog(log_format, SiteFilter(names, port))


def _canonical_port(server: ApacheSite | NginxSite | None, default: int) -> int:
    """The port Apache's %p logs for the site: its ServerName's, else the scheme's default
    (a vhost on 127.0.0.1:8080 named `blog.example` logs `blog.example:80`)."""
    if isinstance(server, ApacheSite):
        _name, colon, port = server.server_name.rpartition(":")
        if colon and port.isdigit():
            return int(port)
    return default


def _server_site(config: SiteConfig, port: int, host: str) -> ApacheSite | NginxSite | None:
    """What the site's server config says of the vhost at host:port; None if unreadable."""
    main = config.server_config or DEFAULT_SERVER_CONFIGS.get(config.server, "")
    if not main or not os.path.isfile(main):
        return None
    try:
        if config.server == "nginx":
            nginx = read_nginx_config(main)
            return nginx_site_summary(nginx, nginx.server_for(port, host))
        return apache_site_summary(read_apache_config(main), port, host)
    except (OSError, ValueError):
        return None  # a config premortem cannot read: the URL's own name and port


def _names_of(server: ApacheSite | NginxSite | None) -> set[str]:
    if isinstance(server, ApacheSite):
        return {server.server_name.split(":")[0], *server.server_aliases} - {""}
    if isinstance(server, NginxSite):
        return set(server.server_name.split())
    return set()
