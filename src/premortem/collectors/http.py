"""The http collector: replay the request, as a browser would, and record what came back.

Status, headers (cookies and authorization masked), timing, a body excerpt, the redirect
chain with loop detection, and the local port the request left from (so the trace and the
error log can be matched to this very request). Connection refused, timeouts and DNS failures
are evidence, not crashes. A 2xx page that lost its body (`lost_body()`) is not healthy:
WordPress with no theme, or with a wp-config.php pointing it at the wrong directory, answers
200 with nothing in it (issue #11).
"""

from __future__ import annotations

import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from premortem.collectors.logs import PhpMessage, php_messages_in_body
from premortem.collectors.target import RoutingTransport, Target
from premortem.redact import redact_headers

BODY_EXCERPT_BYTES = 2048
# Analyzers look for telltale phrases in the whole page (WordPress puts its database error
# after kilobytes of CSS); only the excerpt is ever output.
BODY_KEPT_BYTES = 256 * 1024
MAX_REDIRECTS = 10
USER_AGENT = "premortem-diagnose/0.1"
# A page smaller than this share of what the same path served before lost its body.
SHRUNK_FRACTION = 0.10
HTML_START = re.compile(rb"<html|<!doctype\s+html", re.IGNORECASE)
HTML_SEARCHED_BYTES = 64 * 1024


def is_html(content_type: str) -> bool:
    return "html" in content_type.lower()


def lost_body(
    status: int | None, content_type: str, body: bytes, previous_bytes: int | None = None
) -> str | None:
    """Why a 2xx answer is not the page it should be, or None when it looks like one: an
    empty body, an HTML content type without `<html`/`<!doctype html`, or fewer than
    SHRUNK_FRACTION of `previous_bytes` (what the same path served before). Only 2xx answers
    other than 204 are judged: redirects and errors have bodies of their own."""
    if status is None or not 200 <= status < 300 or status == 204:
        return None
    size = len(body)
    if size == 0:
        return "an empty body"
    if is_html(content_type) and not HTML_START.search(body[:HTML_SEARCHED_BYTES]):
        return f"no <html> in its {size}-byte HTML body"
    if previous_bytes and size < previous_bytes * SHRUNK_FRACTION:
        return (
            f"a {size}-byte body, {size / previous_bytes:.0%} of the {previous_bytes} bytes "
            "it served before"
        )
    return None


def as_bytes(text: str) -> bytes:
    """`text` as the bytes it was decoded from; never an error, even for broken text (a
    recording or a page holding lone surrogates: undecodable bytes kept by surrogateescape
    go back to those bytes, any other surrogate is kept as its own three bytes)."""
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="surrogatepass")


@dataclass
class HttpEvidence:
    url: str
    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    body_excerpt: str = ""
    content_type: str = ""
    body: str = field(default="", repr=False)
    # PHP errors printed in the page (display_errors on).
    php_messages: list[PhpMessage] = field(default_factory=list)
    # "refused", "timeout", "dns", "tls", "protocol", "other" when no response came.
    error_kind: str | None = None
    error: str | None = None
    redirects: list[tuple[int, str]] = field(default_factory=list)
    redirect_loop: bool = False
    final_url: str = ""
    client_port: int | None = None
    started_at: float = 0.0

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def body_problem(self) -> str | None:
        """Why a 2xx page (HTML, or of no stated type) lost its body (see `lost_body`), None
        when it did not; an empty answer of another type (an API's) is not judged."""
        if self.content_type and not is_html(self.content_type):
            return None
        return lost_body(self.status, self.content_type, as_bytes(self.body))

    @property
    def healthy(self) -> bool:
        return (
            self.status is not None
            and self.status < 400
            and not self.redirect_loop
            and self.body_problem is None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 4),
            "headers": self.headers,
            "content_type": self.content_type,
            "body_excerpt": self.body_excerpt[:512],
            "error_kind": self.error_kind,
            "error": self.error,
            "redirects": [{"status": s, "location": loc} for s, loc in self.redirects],
            "redirect_loop": self.redirect_loop,
            "final_url": self.final_url,
        }


def fetch(
    url: str,
    timeout: float = 5.0,
    follow_redirects: bool = True,
    target: Target | None = None,
) -> HttpEvidence:
    """GET `url` on a fresh connection, following redirects by hand to detect loops.

    `target`: how to reach the site (an https URL goes to the local server under the site's
    name, see collectors/target.py). A certificate that fails verification is evidence
    (`error_kind` "tls"), as a refused connection is."""
    evidence = HttpEvidence(url=url, started_at=time.time())
    seen: list[str] = []
    current = url
    start = time.monotonic()
    limits = httpx.Limits(max_keepalive_connections=0)
    ports: list[int] = []

    def remember_port(response: httpx.Response) -> None:
        # Only readable while the connection is open, i.e. in the response hook.
        port = _client_port(response)
        if port is not None:
            ports.append(port)

    try:
        with httpx.Client(
            timeout=timeout,
            transport=RoutingTransport(target, limits),
            headers={"User-Agent": USER_AGENT},
            event_hooks={"response": [remember_port]},
            trust_env=False,
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                seen.append(current)
                response = client.get(current)
                evidence.status = response.status_code
                evidence.reason = response.reason_phrase
                evidence.headers = redact_headers(response.headers.multi_items())
                evidence.content_type = response.headers.get("content-type", "")
                evidence.body = response.content[:BODY_KEPT_BYTES].decode("utf-8", errors="replace")
                evidence.body_excerpt = evidence.body[:BODY_EXCERPT_BYTES]
                if "</b>:" in evidence.body:
                    evidence.php_messages = php_messages_in_body(evidence.body)
                if evidence.client_port is None and ports:
                    evidence.client_port = ports[0]
                location = response.headers.get("location")
                if not (follow_redirects and response.is_redirect and location):
                    break
                next_url = urljoin(current, location)
                evidence.redirects.append((response.status_code, next_url))
                if next_url in seen:
                    evidence.redirect_loop = True
                    break
                current = next_url
            else:
                evidence.redirect_loop = True
    except httpx.ConnectError as exc:
        evidence.error = str(exc)
        evidence.error_kind = connect_error_kind(exc)
    except OSError as exc:  # the site's ca_file cannot be read
        evidence.error_kind, evidence.error = "tls", f"cannot load the CA bundle: {exc}"
    except httpx.TimeoutException as exc:
        evidence.error_kind, evidence.error = "timeout", f"no answer within {timeout:g} s ({exc})"
    except httpx.RemoteProtocolError as exc:
        evidence.error_kind, evidence.error = "protocol", str(exc)
    except httpx.HTTPError as exc:
        evidence.error_kind, evidence.error = "other", str(exc)
    evidence.seconds = time.monotonic() - start
    evidence.final_url = current
    return evidence


def connect_error_kind(exc: httpx.ConnectError) -> str:
    """ "dns", "refused", "tls" (the handshake or the certificate failed) or "connect"."""
    lowered = str(exc).lower()
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "dns"
    if "refused" in lowered:
        return "refused"
    if isinstance(exc.__cause__, ssl.SSLError) or "ssl" in lowered or "certificate" in lowered:
        return "tls"
    return "connect"


def _client_port(response: httpx.Response) -> int | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        addr = stream.get_extra_info("client_addr")
    except Exception:  # the transport may not know; the port is only a matching hint
        return None
    if isinstance(addr, tuple) and len(addr) >= 2 and isinstance(addr[1], int):
        return addr[1]
    return None
