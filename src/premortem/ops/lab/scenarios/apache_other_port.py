"""apache-other-port: Apache runs, but listens on another port than the site's URL.

The lab's httpd.conf says `Listen 127.0.0.1:<another port>`: the Apache processes are
there, yet the URL's port answers "connection refused". Fix: Listen on the URL's port.
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ListensElsewhere


class ApacheOtherPort(ListensElsewhere):
    code = "apache-other-port"
    summary = "the lab's Apache listens on another port than the URL's: connection refused"
    config_file = "httpd_conf"
    listen = "Listen 127.0.0.1:{port}\n"
