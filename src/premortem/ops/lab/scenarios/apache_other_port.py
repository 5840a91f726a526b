"""The `apache-other-port` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ListensElsewhere


class ApacheOtherPort(ListensElsewhere):
    """
    ## What it does
    The lab's httpd.conf says `Listen 127.0.0.1:<another port>`: the Apache processes are
    there, yet the URL's port answers "connection refused".

    ## Why it breaks sites
    GET / gets no answer (connection refused) on the apache lab; `premortem diagnose` names
    `not-listening`.

    ## Example
    `premortem lab break apache-other-port --dir /srv/premortem-lab`, then `premortem
    diagnose http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    Listen on the URL's port.
    """

    code = "apache-other-port"
    summary = "the lab's Apache listens on another port than the URL's: connection refused"
    config_file = "httpd_conf"
    listen = "Listen 127.0.0.1:{port}\n"
    servers = ("apache", "apache-fpm")
