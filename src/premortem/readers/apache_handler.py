"""Which php-fpm pool an Apache site hands its PHP to (mod_proxy_fcgi), with file:line.

The ways Apache 2.4 passes .php files to php-fpm, as Debian and the httpd wiki write them:

- `SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"` in a `<FilesMatch
  ".+\\.ph(?:ar|p|tml)$">` (Debian's conf-available/php8.2-fpm.conf), or
  `SetHandler "proxy:fcgi://127.0.0.1:9000"` for TCP;
- `AddHandler "proxy:unix:...|fcgi://localhost" .php`;
- `ProxyPassMatch "^/(.*\\.php(/.*)?)$" "fcgi://127.0.0.1:9000/var/www/html/$1"` (or
  `"unix:/path.sock|fcgi://localhost/var/www/html/$1"`), and `ProxyPass` alike.

Each becomes an `FcgiHandler` whose `address` is said the way php-fpm's `listen` and
nginx's `fastcgi_pass` say it ("unix:PATH" or "HOST:PORT"), so readers/phpfpm.py's
`same_address` compares it with a pool. Only the main server's and the site's virtual
host's directives count. Read-only.
"""

from __future__ import annotations

import fnmatch
import os
import re

from premortem.readers.apache import ApacheConfig, Directive, FcgiHandler

HANDLER_DIRECTIVES = ("sethandler", "addhandler")
PROXY_DIRECTIVES = ("proxypassmatch", "proxypass")
_FCGI_URL_RE = re.compile(r"^fcgi://(?P<host>\[[^\]]+\]|[^/:]+)(?::(?P<port>\d+))?", re.I)
FCGI_DEFAULT_PORT = "8000"  # mod_proxy_fcgi's default when the URL names none
FILE_SECTIONS = ("filesmatch", "files")


def fcgi_address(target: str) -> str | None:
    """The FastCGI server a handler or proxy target names, as php-fpm's listen says it.

    "proxy:unix:/run/php.sock|fcgi://localhost" -> "unix:/run/php.sock";
    "proxy:fcgi://127.0.0.1:9000" and "fcgi://127.0.0.1:9000/var/www/$1" ->
    "127.0.0.1:9000"; anything that is not FastCGI -> None.
    """
    value = target.strip()
    if value.lower().startswith("proxy:"):
        value = value[len("proxy:") :]
    if value.lower().startswith("unix:"):
        path, _, backend = value[len("unix:") :].partition("|")
        if not backend.lower().startswith("fcgi://") or not path:
            return None
        return f"unix:{os.path.normpath(path)}"
    match = _FCGI_URL_RE.match(value)
    if match is None:
        return None
    return f"{match.group('host').strip('[]')}:{match.group('port') or FCGI_DEFAULT_PORT}"


def fcgi_handlers(config: ApacheConfig, vhost: str) -> list[FcgiHandler]:
    """The directives of the main server and of `vhost` that hand PHP to FastCGI, the one
    in effect for index.php first: one that applies to .php files over one that does not,
    the virtual host's over the main server's (Apache merges it last), a later one over an
    earlier one."""
    found = [
        (index, directive.vhost == vhost and bool(vhost), handler)
        for index, directive in enumerate(config.directives)
        if directive.vhost in ("", vhost) and (handler := _handler(directive)) is not None
    ]
    found.sort(key=lambda item: (applies_to_php(item[2]), item[1], item[0]), reverse=True)
    return [handler for _, _, handler in found]


def all_fcgi_handlers(config: ApacheConfig) -> list[FcgiHandler]:
    """Every directive of the config that hands requests to FastCGI, in file order."""
    return [h for d in config.directives if (h := _handler(d)) is not None]


def applies_to_php(handler: FcgiHandler, script: str = "index.php") -> bool:
    """Whether the handler would take `script` (a pattern that does not compile: yes)."""
    pattern, name = handler.applies_to, handler.directive.lower()
    try:
        if name == "addhandler":
            return any(
                script.endswith(ext if ext.startswith(".") else "." + ext)
                for ext in pattern.split()
            )
        if name == "proxypassmatch":
            return re.search(pattern, "/" + script) is not None
        if name == "proxypass":
            return ("/" + script).startswith(pattern)
        if not pattern:
            return True
        if pattern.startswith("~"):
            return re.search(pattern[1:].strip(), script) is not None
        if handler.section == "files":
            return fnmatch.fnmatchcase(script, pattern)
        return re.search(pattern, script) is not None
    except re.error:
        return True


def _handler(directive: Directive) -> FcgiHandler | None:
    name = directive.name.lower()
    args = list(directive.args)
    if name in HANDLER_DIRECTIVES and args:
        target = args[0]
        if not target.lower().startswith("proxy:"):
            return None
        section, applies_to = _file_section(directive) if name == "sethandler" else ("", "")
        if name == "addhandler":
            applies_to = " ".join(args[1:])
    elif name in PROXY_DIRECTIVES and len(args) >= 2:
        target, section, applies_to = args[1], "", args[0]
    else:
        return None
    address = fcgi_address(target)
    if address is None:
        return None
    return FcgiHandler(
        address,
        directive.name,
        args,
        directive.file,
        directive.line,
        applies_to=applies_to,
        section=section,
    )


def _file_section(directive: Directive) -> tuple[str, str]:
    """(section, pattern) of the innermost <FilesMatch>/<Files> around a directive."""
    for name, argument in reversed(directive.sections):
        if name.lower() in FILE_SECTIONS:
            return name.lower(), argument
    return "", ""
