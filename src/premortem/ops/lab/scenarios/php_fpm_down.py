"""php-fpm-down: the lab's php-fpm is stopped while nginx runs.

nginx accepts the connection but cannot reach the FastCGI socket: every PHP page answers
502 Bad Gateway, and nginx's error log says `connect() to unix:.../php-fpm.sock failed
(2: No such file or directory) while connecting to upstream`. Static files still work.
Fix: start php-fpm (`php-fpm8.2 -y <lab>/php-fpm/php-fpm.conf`).
"""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import StoppedService
from premortem.ops.lab.scenarios.base import Expected


class PhpFpmDown(StoppedService):
    code = "php-fpm-down"
    service = "php-fpm"
    summary = "the lab's php-fpm stopped, nginx runs: 502 Bad Gateway on every PHP page"
    expected = Expected(diagnosis="php-fpm-down")
    http_status = 502
    order = 15
    servers = ("nginx",)
