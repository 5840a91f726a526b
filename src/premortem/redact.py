"""Secret redaction for everything premortem prints, stores or quotes as evidence.

What gets hidden:

- values of wp-config.php secrets: ``DB_PASSWORD``, ``AUTH_KEY``, ``SECURE_AUTH_KEY``,
  ``LOGGED_IN_KEY``, ``NONCE_KEY`` and the matching ``*_SALT`` constants (any
  ``define('..._PASSWORD'|'..._KEY'|'..._SALT', '...')``);
- HTTP ``Cookie``, ``Set-Cookie``, ``Authorization`` and ``Proxy-Authorization`` header values;
- passwords in URLs (``mysql://user:secret@host``) and ``password=...`` pairs;
- the data buffers strace prints for read/write/send/recv calls (kept as ``"…"``);
- any literal secret value registered with :meth:`Redactor.add_secret` (for instance the
  DB password read from the site's wp-config.php), wherever it appears.

Use :func:`redact` for one-off text and a :class:`Redactor` when the site's own secrets
are known: ``Redactor(site_secrets(docroot))`` (premortem.readers.wpconfig) knows them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from premortem.readers.wpconfig import DEFINE_RE, is_secret

MASK = "[REDACTED]"

_HEADER_RE = re.compile(
    r"(?im)\b((?:set-)?cookie|(?:proxy-)?authorization|x-api-key|x-auth-token)(\s*[:=]\s*)([^\r\n]+)"
)
_URL_PASSWORD_RE = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]+:)([^@\s/]+)(@)", re.IGNORECASE)
# MySQL/MariaDB's "(using password: YES)" says whether one was sent, not what it is: kept.
_PAIR_RE = re.compile(
    r"""(?i)\b((?:db_)?(?:password|passwd|pwd|secret|token)["']?\s*[=:]\s*["']?)"""
    r"""(?!(?:YES|NO)\))([^"'\s&,;)]+)"""
)
# strace: read(3, "....", 4096) / sendto(5, "...", ...) / recvfrom(...) / writev(...)
_STRACE_BUFFER_RE = re.compile(
    r"""\b((?:read|write|pread64|pwrite64|readv|writev|send|sendto|sendmsg|sendmmsg|recv|recvfrom|recvmsg|recvmmsg)\(\d+,\s*)"(?:\\.|[^"\\])*"(\.\.\.)?"""
)
_STRACE_IOV_RE = re.compile(r"""(iov_base=)"(?:\\.|[^"\\])*"(\.\.\.)?""")


class Redactor:
    """Redacts the generic secret patterns plus the literal secrets it was given."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str) -> None:
        # Very short values would blank out ordinary words; patterns still catch them in context.
        if len(value) >= 4 and value not in self._secrets:
            self._secrets.append(value)
            self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = DEFINE_RE.sub(_mask_secret_define, text)
        text = _HEADER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        text = _URL_PASSWORD_RE.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
        text = _PAIR_RE.sub(lambda m: f"{m.group(1)}{MASK}", text)
        text = _STRACE_BUFFER_RE.sub(lambda m: f'{m.group(1)}"…"', text)
        text = _STRACE_IOV_RE.sub(lambda m: f'{m.group(1)}"…"', text)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def redact_data(self, data: Any) -> Any:
        """Redact every string inside nested dicts/lists/tuples (JSON-like data)."""
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {key: self.redact_data(value) for key, value in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_data(value) for value in data]
        return data


def _mask_secret_define(match: re.Match[str]) -> str:
    if not is_secret(match.group("name")):
        return match.group(0)
    return f"{match.group(1)}{match.group('q')}{MASK}{match.group('q')}"


_DEFAULT = Redactor()


def redact(text: str) -> str:
    """Redact the generic secret patterns (no site-specific literal secrets)."""
    return _DEFAULT.redact(text)


SENSITIVE_HEADERS = frozenset(
    {"cookie", "set-cookie", "authorization", "proxy-authorization", "x-api-key", "x-auth-token"}
)


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with the values of sensitive ones masked."""
    out: dict[str, str] = {}
    for name, value in headers:
        shown = MASK if name.lower() in SENSITIVE_HEADERS else value
        out[name] = f"{out[name]}, {shown}" if name in out else shown
    return out
