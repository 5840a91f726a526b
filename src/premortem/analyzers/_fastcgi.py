"""What php-fpm-down and fpm-handler-no-pool share: the web server's failed connection to
its FastCGI backend, as nginx and Apache's mod_proxy_fcgi log it, and where the server's
config names that backend."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from premortem.collectors import EvidenceSet
from premortem.collectors.logs import ErrorLine
from premortem.model import Quote

# nginx: connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory)
# while connecting to upstream
_NGINX_RE = re.compile(
    r"connect\(\) to (?P<address>\S+) failed \((?P<code>2|111): (?P<reason>[^)]*)\) "
    r"while connecting to upstream"
)
# Apache: (2)No such file or directory: AH02454: FCGI: attempt to connect to Unix domain
# socket /run/php/php8.2-fpm.sock (localhost:8000) failed; TCP: (111)Connection refused:
# AH00957: FCGI: attempt to connect to 127.0.0.1:9000 (127.0.0.1:9000) failed
_APACHE_RE = re.compile(
    r"\((?P<code>2|111)\)(?P<reason>[^:]*): AH0(?:2454|0957): FCGI: attempt to connect to "
    r"(?:Unix domain socket )?(?P<address>\S+) \("
)
# The statuses a web server answers when its FastCGI backend does not accept: nginx 502,
# Apache's mod_proxy 503.
BACKEND_DOWN_STATUSES = (502, 503)


@dataclass(frozen=True)
class ConnectFailure:
    """The server could not connect to its FastCGI backend at `address`."""

    line: ErrorLine
    # As php-fpm's listen / nginx's fastcgi_pass say it: "unix:PATH" or "HOST:PORT".
    address: str
    # "2" (no such socket) or "111" (refused).
    code: str
    server: str

    @property
    def what(self) -> str:
        return "its socket is missing" if self.code == "2" else "it refuses connections"


def connect_failure(evidence: EvidenceSet) -> ConnectFailure | None:
    """The last logged failure to reach the FastCGI backend for the replayed request (else
    in the incident's window), when the site answered as a server does then."""
    http, logs = evidence.http, evidence.logs
    if http is None or http.status not in BACKEND_DOWN_STATUSES or logs is None:
        return None
    for lines in (logs.request_lines(), logs.fresh_lines()):
        for line in reversed(lines):
            if match := _NGINX_RE.search(line.message):
                return ConnectFailure(line, match.group("address"), match.group("code"), "nginx")
            if match := _APACHE_RE.search(line.message):
                address = match.group("address")
                if address.startswith("/"):
                    address = f"unix:{posixpath.normpath(address)}"
                return ConnectFailure(line, address, match.group("code"), "Apache")
    return None


def handler_quote(evidence: EvidenceSet) -> tuple[Quote, str, int] | None:
    """Where the web server's config names its FastCGI backend: Apache's proxy_fcgi handler
    (with file and line), as (quote, file, line)."""
    apache = evidence.server.apache if evidence.server else None
    if apache is None or not apache.fcgi_handlers:
        return None
    handler = apache.fcgi_handlers[0]
    return Quote("config", f"{handler.at}: {handler.text}"), handler.file, handler.line
