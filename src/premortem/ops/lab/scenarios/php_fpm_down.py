"""The `php-fpm-down` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import ClassVar

from premortem.ops.lab.scenarios._helpers import StoppedService
from premortem.ops.lab.scenarios.base import Expected


class PhpFpmDown(StoppedService):
    """
    ## What it does
    The web server accepts the connection but cannot reach the FastCGI socket: every PHP page
    answers 502 Bad Gateway on nginx, whose error log says `connect() to unix:.../php-fpm.sock
    failed (2: No such file or directory) while connecting to upstream`, and 503 Service
    Unavailable on Apache (apache-fpm flavour), whose error log says `AH02454: FCGI: attempt
    to connect to Unix domain socket .../php-fpm.sock (localhost) failed`. Static files still
    work.

    ## Why it breaks sites
    GET / answers 502 on the nginx lab, 503 on the apache-fpm lab; `premortem diagnose` names
    `php-fpm-down`.

    ## Example
    `premortem lab break php-fpm-down --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    start php-fpm (`php-fpm8.2 -y <lab>/php-fpm/php-fpm.conf`).
    """

    code = "php-fpm-down"
    service = "php-fpm"
    summary = "the lab's php-fpm stopped, the web server runs: 502/503 on every PHP page"
    expected = Expected(diagnosis="php-fpm-down")
    http_status = 502
    order = 15
    servers = ("nginx", "apache-fpm")
    # Apache's proxy_fcgi answers 503 where nginx answers 502.
    http_status_on: ClassVar[dict[str, int | None]] = {"apache-fpm": 503}
