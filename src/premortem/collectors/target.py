"""Where a request for a site's URL really goes: the local server, under the site's name.

premortem looks at the server on this machine. For an `https://` URL that means: connect to
a local address (the one the server listens on, 127.0.0.1 by default), while the TLS
handshake sends the site's name (SNI) and checks the certificate against it, and the request
carries `Host: <the site's name>`, exactly as a visitor's browser would. The name need not
resolve to this machine (the site's DNS may point at a load balancer, or at nothing yet).

An `http://` URL is requested as given (no certificate to check against a name; an
unresolvable name stays a "dns" finding). `ca_file` adds a CA bundle to the system's trust
store for the site's certificate (the lab's own CA): nothing is installed anywhere.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

LOOPBACK = "127.0.0.1"
# Addresses a server listens on that mean "every interface".
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::", "*")


@dataclass(frozen=True)
class Target:
    """How to reach a site: the local address to connect to for https URLs (None: resolve
    the name as usual) and the extra CA bundle trusted for its certificate."""

    address: str | None = None
    ca_file: str = ""


@dataclass(frozen=True)
class Routed:
    """One request as sent: the URL connected to, its headers and httpx extensions."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, Any]


def route(url: str, target: Target | None) -> Routed:
    """The request for `url`: an https URL with a site name goes to the local address, with
    SNI and Host the site's name; anything else as it is."""
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if parts.scheme != "https" or not hostname or is_ip(hostname):
        return Routed(url, {}, {})
    address = (target.address if target else None) or local_address(hostname)
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    routed = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return Routed(routed, {"Host": parts.netloc}, {"sni_hostname": hostname})


class RoutingTransport(httpx.BaseTransport):
    """An httpx transport that sends every request as `route()` says (the client's own
    Host header, the site's, stays), so a client's responses keep the site's URLs."""

    def __init__(self, target: Target | None, limits: httpx.Limits | None = None) -> None:
        self.target = target
        self.inner = httpx.HTTPTransport(
            verify=verify_option(target), limits=limits or httpx.Limits(), trust_env=False
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(routed_request(request, self.target))

    def close(self) -> None:
        self.inner.close()


class AsyncRoutingTransport(httpx.AsyncBaseTransport):
    """RoutingTransport for an AsyncClient (watch's probes)."""

    def __init__(self, target: Target | None, limits: httpx.Limits | None = None) -> None:
        self.target = target
        self.inner = httpx.AsyncHTTPTransport(
            verify=verify_option(target), limits=limits or httpx.Limits(), trust_env=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(routed_request(request, self.target))

    async def aclose(self) -> None:
        await self.inner.aclose()


def routed_request(request: httpx.Request, target: Target | None) -> httpx.Request:
    routed = route(str(request.url), target)
    if not routed.extensions:
        return request
    return httpx.Request(
        request.method,
        routed.url,
        headers=request.headers,
        stream=request.stream,
        extensions={**request.extensions, **routed.extensions},
    )


def site_client(
    target: Target | None, *, timeout: float, headers: dict[str, str] | None = None
) -> httpx.Client:
    """A client for the site's own URLs (no keep-alive: each request a new visitor's)."""
    transport = RoutingTransport(target, httpx.Limits(max_keepalive_connections=0))
    return httpx.Client(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        headers=headers,
        trust_env=False,
    )


def verify_option(target: Target | None) -> ssl.SSLContext | bool:
    """httpx's `verify`: the system's trust store plus the site's ca_file, else httpx's
    default. A ca_file that cannot be read is an OSError."""
    return trust_with(target.ca_file) if target and target.ca_file else True


@functools.lru_cache(maxsize=8)
def trust_with(ca_file: str) -> ssl.SSLContext:
    """A client context trusting the system's store and `ca_file` (loaded once a file)."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_file)
    return context


def is_ip(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def local_address(hostname: str) -> str:
    """The address of this machine the name resolves to (an /etc/hosts line such as
    `127.0.1.1 blog.example`), else 127.0.0.1."""
    try:
        infos = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return LOOPBACK
    for info in infos:
        address = str(info[4][0])
        if ipaddress.ip_address(address).is_loopback:
            return address
    return LOOPBACK


def listening_address(addresses: list[str]) -> str | None:
    """The address to reach a server that listens on `addresses` (a wildcard: loopback)."""
    for address in addresses:
        if address in WILDCARD_ADDRESSES:
            return LOOPBACK
    return addresses[0] if addresses else None
