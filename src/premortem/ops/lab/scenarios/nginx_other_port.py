"""nginx-other-port: nginx runs, but listens on another port than the site's URL.

The classic exercise "nginx is not listening on 80": the lab's nginx.conf says
`listen 127.0.0.1:<another port>`, so the nginx processes are there, yet the URL's port
answers "connection refused". Fix: listen on the URL's port and reload nginx.
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import ListensElsewhere


class NginxOtherPort(ListensElsewhere):
    code = "nginx-other-port"
    summary = "the lab's nginx listens on another port than the URL's: connection refused"
    servers = ("nginx",)
    config_file = "nginx_conf"
    listen = "listen 127.0.0.1:{port};\n"
