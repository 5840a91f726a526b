"""The `fpm-handler-wrong-socket` fault of the lab (documented on its class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from premortem.ops.lab.scenarios._helpers import edit_server_config
from premortem.ops.lab.scenarios.base import Expected, Scenario

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal

# Debian's default socket name, as a handler copied from another host would have it.
WRONG_SOCKET = "php8.2-fpm.sock"


class FpmHandlerWrongSocket(Scenario):
    """
    ## What it does
    The Apache PHP handler (`apache/php8.2-fpm.conf`, `SetHandler "proxy:unix:...|fcgi://
    localhost"`) names `php-fpm/run/php8.2-fpm.sock`, Debian's default name, while the lab's
    pool listens on `php-fpm/run/php-fpm.sock`; Apache is restarted gracefully. php-fpm runs
    and is healthy: nothing listens where Apache looks.

    ## Why it breaks sites
    GET / answers 503 Service Unavailable on the apache-fpm lab and Apache's error log says
    `(2)No such file or directory: AH02454: FCGI: attempt to connect to Unix domain socket
    .../php8.2-fpm.sock (localhost) failed`; `premortem diagnose` names
    `fpm-handler-no-pool`, with the handler's file:line and the pool's `listen`.

    ## Example
    `premortem lab break fpm-handler-wrong-socket --dir /srv/premortem-lab`, then
    `premortem diagnose http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault
    byte for byte.

    ## Fix
    Point the handler at the socket the pool listens on (its `listen`), then restart Apache
    gracefully.
    """

    code = "fpm-handler-wrong-socket"
    summary = "the Apache PHP handler names a socket no php-fpm pool listens on: 503"
    expected = Expected(diagnosis="fpm-handler-no-pool")
    http_status = 503
    order = 16
    servers = ("apache-fpm",)

    def inject(self, lab: Lab, journal: FaultJournal) -> None:
        socket = lab.paths.fpm_socket
        edit_server_config(
            lab,
            journal,
            lab.paths.fpm_handler_conf,
            f"proxy:unix:{socket}|",
            f"proxy:unix:{socket.with_name(WRONG_SOCKET)}|",
        )
