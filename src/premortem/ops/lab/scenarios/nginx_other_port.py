"""The `nginx-other-port` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ListensElsewhere


class NginxOtherPort(ListensElsewhere):
    """
    ## What it does
    The classic exercise "nginx is not listening on 80": the lab's nginx.conf says `listen
    127.0.0.1:<another port>`, so the nginx processes are there, yet the URL's port answers
    "connection refused".

    ## Why it breaks sites
    GET / gets no answer (connection refused) on the nginx lab; `premortem diagnose` names
    `not-listening`.

    ## Example
    `premortem lab break nginx-other-port --dir /srv/premortem-lab`, then `premortem
    diagnose http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    listen on the URL's port and reload nginx.
    """

    code = "nginx-other-port"
    summary = "the lab's nginx listens on another port than the URL's: connection refused"
    servers = ("nginx",)
    config_file = "nginx_conf"
    listen = "listen 127.0.0.1:{port};\n"
