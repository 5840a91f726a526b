"""Access logs as the servers write them: Apache `LogFormat`s, nginx `log_format`s (JSON
ones included), and one site's lines out of a log shared by several.

- `AccessRecord`: one request (time, client, request line, status, size, referer, user
  agent; the virtual host and port when the format logs them);
- `parse_line(line)`: the common/combined formats (Apache's, Debian's, nginx's default),
  the fast path `watch` runs on every line;
- `AccessLogFormat`: any other format, compiled once (`.apache(fmt)`, `.nginx(fmt,
  escape=...)`, `.from_spec(text)` for a site config's ``access_log_format``), then
  `.parse(line)`; `HAPROXY`: HAProxy's `option httplog` lines (`accesslog.haproxy`), each
  record naming the backend and the server that answered;
- `SiteFilter`, `SiteLog`: the site's own lines of a shared log (Debian's
  other_vhosts_access.log), by ServerName/ServerAlias or server_name and port;
- `read_records(path, since, site_log=...)`: a file's records.

What each supported directive means is in `tokens` (and docs/watch.md, "Access logs").
"""

from premortem.accesslog.formats import (
    COMBINED,
    DEBIAN_APACHE_FORMATS,
    HAPROXY,
    NGINX_COMBINED,
    AccessLogFormat,
    format_spec,
)
from premortem.accesslog.record import AccessRecord, parse_line
from premortem.accesslog.site import SiteFilter, SiteLog, read_records

__all__ = [
    "COMBINED",
    "DEBIAN_APACHE_FORMATS",
    "HAPROXY",
    "NGINX_COMBINED",
    "AccessLogFormat",
    "AccessRecord",
    "SiteFilter",
    "SiteLog",
    "format_spec",
    "parse_line",
    "read_records",
]
