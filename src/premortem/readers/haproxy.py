"""HAProxy's config (haproxy.cfg): what `premortem init` needs to watch at the balancer.

Read: the `global` section's `stats socket` (the runtime API) and `log` targets; each
`frontend`/`listen` section's `bind` addresses, `default_backend`, `log` and `option
httplog`; each `backend`/`listen` section's `server` lines (their names are the hosts');
`defaults` sections' `log global` / `option httplog` (inherited by the proxies after them).
Everything else is ignored. Each value keeps the file:line it came from. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from premortem.errors import PremortemError
from premortem.readers.files import LOCAL_FILES

_SECTIONS = ("global", "defaults", "frontend", "backend", "listen", "userlist", "peers",
             "resolvers", "mailers", "program", "http-errors", "ring", "cache")  # fmt: skip


@dataclass
class Proxy:
    """A frontend, backend or listen section."""

    kind: str
    name: str
    where: str
    binds: list[tuple[str, int]] = field(default_factory=list)
    default_backend: str = ""
    servers: list[tuple[str, str]] = field(default_factory=list)  # (name, address:port)
    httplog: bool = False
    logs: bool = False


@dataclass
class HaproxyConfig:
    path: str
    stats_sockets: list[tuple[str, str]] = field(default_factory=list)  # (path, file:line)
    log_targets: list[tuple[str, str]] = field(default_factory=list)  # (target, file:line)
    proxies: list[Proxy] = field(default_factory=list)

    def frontend_on(self, port: int) -> Proxy | None:
        """The frontend (or listen section) bound to `port`."""
        for proxy in self.proxies:
            if proxy.kind in ("frontend", "listen") and any(p == port for _a, p in proxy.binds):
                return proxy
        return None

    def backend(self, name: str) -> Proxy | None:
        return next(
            (p for p in self.proxies if p.kind in ("backend", "listen") and p.name == name), None
        )


MAX_CONFIG_BYTES = 8 * 1024 * 1024


def read_haproxy_config(path: str) -> HaproxyConfig:
    """The parts of haproxy.cfg premortem uses; a PremortemError when it cannot be read."""
    try:
        text = LOCAL_FILES.read_text(path, MAX_CONFIG_BYTES)  # a FIFO: refused, unopened
    except OSError as exc:
        raise PremortemError(f"cannot read HAProxy's config {path}: {exc.strerror}") from None
    config = HaproxyConfig(path)
    section, current = "", None
    defaults = Proxy("defaults", "", "")
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{path}:{number}"
        if words[0] in _SECTIONS:
            section = words[0]
            if section == "defaults":
                defaults = Proxy("defaults", "", where)
                current = defaults
            elif section in ("frontend", "backend", "listen") and len(words) > 1:
                current = Proxy(section, words[1], where, httplog=defaults.httplog,
                                logs=defaults.logs)  # fmt: skip
                config.proxies.append(current)
            else:
                current = None
            continue
        _directive(config, section, current, words, where)
    return config


def _directive(
    config: HaproxyConfig, section: str, proxy: Proxy | None, words: list[str], where: str
) -> None:
    if section == "global":
        if words[:2] == ["stats", "socket"] and len(words) > 2:
            config.stats_sockets.append((words[2], where))
        elif words[0] == "log" and len(words) > 1:
            config.log_targets.append((words[1], where))
        return
    if proxy is None:
        return
    if words[0] == "bind" and len(words) > 1:
        address, _colon, port = words[1].rpartition(":")
        if port.isdigit():
            proxy.binds.append((address, int(port)))
    elif words[0] == "default_backend" and len(words) > 1:
        proxy.default_backend = words[1]
    elif words[0] == "server" and len(words) > 2:
        proxy.servers.append((words[1], words[2]))
    elif words[:2] == ["option", "httplog"]:
        proxy.httplog = True
    elif words[:3] == ["no", "option", "httplog"]:
        proxy.httplog = False
    elif words[0] == "log":
        proxy.logs = True
    elif words[0] == "no" and words[1:2] == ["log"]:
        proxy.logs = False
