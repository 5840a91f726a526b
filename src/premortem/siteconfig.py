"""The site config file (`premortem.toml`) that tells every command where a site lives.

`premortem init URL` writes one for a site it discovers on this machine; `premortem lab up`
writes one for the lab; operators may write or edit one by hand. docs/config.md, generated
from the fields below, is the reference of every key. Example::

    url = "http://127.0.0.1:8080/"
    site_root = "/srv/premortem-lab/site"       # holds releases/, shared/, current
    docroot = "/srv/premortem-lab/site/current"
    server = "apache"                           # or "nginx"
    server_config = "/srv/premortem-lab/apache/httpd.conf"
    error_log = "/srv/premortem-lab/logs/error.log"
    access_log = "/srv/premortem-lab/logs/access.log"
    web_user = "www-data"
    state_dir = "/srv/premortem-lab/state"      # backups, incidents database, locks

A key premortem does not know is an error that names it (a misspelt key must not be
silently ignored). Tables belong to whoever wrote them: the ``[lab]`` table of the lab's
file is kept verbatim on rewrite, and a file written before the PHP/php-fpm/database paths
were top-level keys has them there; they are still read from it.

The state dir (incidents database, backups, locks) never lies under the docroot, where
the web server would serve it: a configured one there is refused, and the default is a
per-site directory under ``/var/lib/premortem/`` (see `default_state_dir`).

``access_log_format`` says how the access log is written: ``""`` or ``combined`` (the
default: Apache's and nginx's combined), a Debian nickname (``common``, ``vhost_combined``
for /var/log/apache2/other_vhosts_access.log), ``'apache:<LogFormat string>'`` or
``'nginx:[escape=json ]<log_format string>'``. A format that logs the virtual host or port
(``%v``, ``%p``, ``$host``, ``$server_port``) makes premortem keep only this site's lines.

A **fleet config** describes several web hosts behind a load balancer: ``url`` is the
balancer's, ``access_log`` its log (``access_log_format = "haproxy"``), and a ``[balancer]``
table (`BalancerConfig`) says how to reach it; ``site_root`` and ``docroot`` (the hosts')
may be left out. `premortem lab up --hosts N` writes one (DIR/premortem.toml), `premortem
watch --config` and `report` read it (docs/fleet.md, docs/watch.md)::

    url = "http://127.0.0.1:8080/"
    access_log = "/srv/premortem-fleet/haproxy/haproxy.log"
    access_log_format = "haproxy"
    state_dir = "/srv/premortem-fleet/state"

    [balancer]
    kind = "haproxy"
    admin_socket = "/srv/premortem-fleet/haproxy/admin.sock"
    backend = "web"
    inventory = "/srv/premortem-fleet/inventory.ini"

    [balancer.event_stores]
    web-01 = "/srv/premortem-fleet/hosts/web-01/state"
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
import tomllib
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from premortem.errors import PremortemError

# Where per-site state goes when the config names none (PREMORTEM_STATE_ROOT overrides it).
SYSTEM_STATE_ROOT = Path("/var/lib/premortem")
# Tables other programs own inside premortem.toml.
OWNED_TABLES = ("lab",)
# The keys a fleet config (one with a [balancer] table) may leave out: the hosts' own.
FLEET_OPTIONAL = ("site_root", "docroot")


def key(default: Any, doc: str, example: Any = None, *, factory: Any = None) -> Any:
    """A config key: its default, what it means (docs/config.md) and an example value."""
    metadata = {"doc": doc, "example": example}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def required(doc: str, example: Any) -> Any:
    return field(metadata={"doc": doc, "example": example})


@dataclass
class BalancerConfig:
    """The `[balancer]` table of a fleet config: the load balancer in front of the hosts."""

    kind: str = key("haproxy", "The load balancer: `haproxy` (the only one read so far).")
    admin_socket: str = key(
        "",
        "HAProxy's runtime API socket (`stats socket ... level admin`, or `level user`: "
        "watch only reads `show stat`): each server's state and answers.",
        "/run/haproxy/admin.sock",
    )
    backend: str = key(
        "web",
        "The HAProxy backend whose servers are the web hosts (their `server` names are the "
        "hosts' names, as the inventory has them).",
        "web",
    )
    inventory: str = key(
        "",
        "The Ansible inventory of the hosts (`premortem fleet`): what `watch --auto-rollback` "
        "rolls back and the fleet diagnosis reaches.",
        "/etc/premortem/inventory.ini",
    )
    hosts_pattern: str = key("web", "The inventory group (or pattern) of the web hosts.", "web")
    event_stores: dict[str, str] = key(
        None,
        "Each host's premortem state dir (its event store), by host name, readable here: "
        "the report's timeline merges their events, `--auto-rollback` finds the hosts of "
        "the last fleet deploy in them.",
        {"web-01": "/var/lib/premortem/web-01"},
        factory=dict,
    )


def balancer_keys() -> list[Field[Any]]:
    """The documented keys of the [balancer] table."""
    return list(fields(BalancerConfig))


@dataclass
class SiteConfig:
    url: str = required(
        "The site's URL as its users reach it: probes, stage and verify request it.",
        "http://127.0.0.1:8080/",
    )
    site_root: str = required(
        "The directory that holds `releases/`, `shared/` and the `current` link (deploy, "
        "rollback). For a site not yet adopted (`premortem adopt`), the docroot itself.",
        "/srv/www/blog",
    )
    docroot: str = required(
        "The web server's DocumentRoot (Apache) or root (nginx) for the site.",
        "/srv/www/blog/current",
    )
    server: str = key("apache", "The web server in front of PHP: `apache` or `nginx`.", "nginx")
    server_config: str = key(
        "",
        "The server's main config file; empty: the one the running server uses, else "
        "/etc/apache2/apache2.conf or /etc/nginx/nginx.conf.",
        "/etc/apache2/apache2.conf",
    )
    error_log: str = key("", "The server's error log for the site.", "/var/log/apache2/error.log")
    access_log: str = key(
        "",
        "The server's access log for the site (watch, report, verify read it).",
        "/var/log/apache2/access.log",
    )
    access_log_format: str = key(
        "",
        "How the access log is written: empty or `combined`, a Debian nickname (`common`, "
        "`vhost_combined`), `apache:<LogFormat string>`, `nginx:[escape=json ]<log_format "
        "string>` or `haproxy` (HAProxy's `option httplog`, a fleet's balancer). A format "
        "that logs the virtual host or port makes premortem read only this site's lines of "
        "a shared log (docs/watch.md).",
        "vhost_combined",
    )
    web_user: str = key(
        "www-data", "The user the web server's workers (or the PHP pool) run as.", "nginx"
    )
    state_dir: str = key(
        "",
        "Where premortem keeps the site's incidents database, backups and locks. Never "
        "under the docroot. Empty: /var/lib/premortem/<host>[-<port>] (as root), else "
        "~/.local/state/premortem/<host>[-<port>].",
        "/var/lib/premortem/blog",
    )
    smoke_paths: list[str] = key(
        None,
        "Paths stage and verify request on every deploy.",
        ["/", "/wp-login.php", "/feed/"],
        factory=lambda: ["/", "/wp-login.php"],
    )
    replay: int = key(
        200,
        "How many distinct GET/HEAD URLs of the recent access log deploy's stage replays "
        "before the switch (the most requested plus a sample of the rest; admin, login and "
        "static URLs left out); a URL production answered < 500 that the stage answers "
        ">= 500 stops the deploy. 0 disables the replay (docs/deploy.md).",
        50,
    )
    replay_include: list[str] = key(
        None,
        "Glob patterns over path and query: when given, only matching URLs are replayed.",
        ["/shop/*", "/?s=*"],
        factory=list,
    )
    replay_exclude: list[str] = key(
        None,
        "Glob patterns over path and query of URLs never replayed (besides the built-in "
        "admin, login and static ones).",
        ["/cart/*", "*add-to-cart=*"],
        factory=list,
    )
    replay_seconds: int = key(
        30,
        "Time budget of the replay, in seconds: URLs not requested by then are left out "
        "(and counted as such).",
        10,
    )
    shared_paths: list[str] = key(
        None,
        "Paths (relative to a release) that live in `shared/` and are linked into every release.",
        ["wp-config.php", "wp-content/uploads", "wp-content/cache"],
        factory=lambda: ["wp-config.php", "wp-content/uploads"],
    )
    php_error_log: str = key(
        "", "PHP's own error_log, when it is not the server's.", "/var/log/php/error.log"
    )
    php_fpm_config: str = key(
        "",
        "The php-fpm master config behind nginx's fastcgi_pass, when it is not Debian's.",
        "/etc/php/8.2/fpm/php-fpm.conf",
    )
    php_fpm_log: str = key("", "php-fpm's error log.", "/var/log/php8.2-fpm.log")
    php_fpm_pid_file: str = key("", "php-fpm's PID file.", "/run/php/php8.2-fpm.pid")
    nginx_pid_file: str = key(
        "", "nginx's PID file, when it is not /run/nginx.pid.", "/run/nginx.pid"
    )
    db_socket: str = key("", "The database's unix socket.", "/run/mysqld/mysqld.sock")
    db_pid_file: str = key("", "The database's PID file.", "/run/mysqld/mysqld.pid")
    db_port: int = key(0, "The database's TCP port (0: 3306 or the socket).", 3306)
    ca_file: str = key(
        "",
        "A CA bundle (PEM) trusted for the site's certificate besides the system's store, "
        "for a site whose certificate a private CA signed (the TLS lab's). Probes of an "
        "`https://` URL connect to the local server, send the site's name (SNI and Host) "
        "and check its certificate against that name.",
        "/srv/premortem-lab/tls/ca.pem",
    )
    start_command: str = key(
        "",
        "What a remedy tells the operator to run to start the site's servers; empty: what "
        "the host has (systemctl, service, or the server binary).",
        "systemctl start apache2",
    )
    # A fleet config's [balancer] table (None: one site on one host).
    balancer: BalancerConfig | None = field(default=None, metadata={"doc": ""})
    # Tables written by whoever owns them (e.g. [lab]); kept verbatim on rewrite.
    extra: dict[str, Any] = field(default_factory=dict, metadata={"doc": ""})

    def __post_init__(self) -> None:
        _fill_from_lab_table(self)

    @property
    def path_of_state(self) -> Path:
        if self.state_dir:
            return Path(self.state_dir)
        legacy = Path(self.site_root) / ".premortem"
        # State an older premortem kept beside releases/ stays where it is.
        if legacy.is_dir() and not is_within(legacy, Path(self.docroot)):
            return legacy
        return default_state_dir(self.url)

    def to_toml_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        if data["balancer"] is None:
            del data["balancer"]
        data.update(extra)
        return data


def config_keys() -> list[Field[Any]]:
    """The documented keys of premortem.toml, in file order."""
    return [f for f in fields(SiteConfig) if f.name not in ("extra", "balancer")]


def default_of(spec: Field[Any]) -> Any:
    if spec.default is not MISSING:
        return spec.default
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    return None


def site_slug(url: str) -> str:
    """A directory name for the site of `url`: its host, and its port when not the default."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = (parts.hostname or "site").lower()
    default_port = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port
    except ValueError:
        port = None
    slug = host if port in (None, default_port) else f"{host}-{port}"
    return re.sub(r"[^a-z0-9.-]+", "_", slug)


def state_root() -> Path:
    """Where per-site state dirs go: /var/lib/premortem as root, else the user's state dir."""
    override = os.environ.get("PREMORTEM_STATE_ROOT")
    if override:
        return Path(override)
    if os.geteuid() == 0:
        return SYSTEM_STATE_ROOT
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "premortem"


def default_state_dir(url: str) -> Path:
    return state_root() / site_slug(url)


def is_within(path: Path, directory: Path) -> bool:
    """Whether `path` is `directory` or lies under it (symlinks resolved, as the server would)."""
    if not str(directory):
        return False
    resolved, root = Path(os.path.realpath(path)), Path(os.path.realpath(directory))
    return resolved == root or root in resolved.parents


def check_state_dir(config: SiteConfig, where: str) -> None:
    """Refuse a state dir the web server would serve (its database and backups leak)."""
    if config.state_dir and is_within(Path(config.state_dir), Path(config.docroot)):
        raise PremortemError(
            f"{where}: state_dir {config.state_dir} is inside the docroot {config.docroot}: "
            "the web server would serve its incidents database and backups; move it out "
            "(or remove the key to use the default under /var/lib/premortem)"
        )


# Keys an older premortem.toml kept in its [lab] table that are now typed fields.
_LAB_TABLE_FIELDS = (
    "php_error_log",
    "php_fpm_config",
    "php_fpm_log",
    "php_fpm_pid_file",
    "nginx_pid_file",
    "db_socket",
    "db_pid_file",
    "db_port",
)


def _fill_from_lab_table(config: SiteConfig) -> None:
    """An older file's [lab] table fills the typed fields it left empty."""
    table = config.extra.get("lab")
    if not isinstance(table, dict):
        return
    for name in _LAB_TABLE_FIELDS:
        value = table.get(name)
        if value and not getattr(config, name) and isinstance(value, type(getattr(config, name))):
            setattr(config, name, value)
    if not config.start_command and isinstance(table.get("dir"), str):
        port = f" --port {table['port']}" if table.get("port") else ""
        config.start_command = f"premortem lab up --dir {table['dir']}{port}"


def write_site_config(config: SiteConfig, path: Path, *, header: str = "") -> None:
    """Write atomically (temp file + rename), so a reader never sees half a file.

    `header`: comment lines (each starting with "#") written above the keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".premortem.toml.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header.encode("utf-8"))
            tomli_w.dump(config.to_toml_dict(), out)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_site_config(path: Path) -> SiteConfig:
    """Read a site config; a missing, unreadable or malformed file is a PremortemError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PremortemError(
            f"site config {path} does not exist (`premortem init URL` writes one; "
            "commands given a URL work without one)"
        ) from None
    except OSError as exc:
        raise PremortemError(f"cannot read site config {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PremortemError(f"site config {path} is not valid TOML: {exc}") from None
    config = site_config_from_dict(data, str(path))
    check_state_dir(config, str(path))
    return config


def site_config_from_dict(data: dict[str, Any], where: str) -> SiteConfig:
    """Typed config from a TOML table: unknown keys, missing keys and wrong types are errors."""
    specs = {spec.name: spec for spec in config_keys()}
    data = dict(data)
    balancer = _balancer_from(data.pop("balancer", None), where)
    unknown = [k for k in data if k not in specs and k not in OWNED_TABLES]
    if unknown:
        raise PremortemError(f"{where}: {_unknown_key_message(unknown[0], list(specs))}")
    if balancer is not None:
        data = {**dict.fromkeys(FLEET_OPTIONAL, ""), **data}
    missing = [k for k, spec in specs.items() if default_of(spec) is None and k not in data]
    if missing:
        raise PremortemError(f"{where} lacks required keys: {', '.join(missing)}")
    for name, value in data.items():
        if name in specs:
            _check_type(where, name, value, default_of(specs[name]))
    values = {k: v for k, v in data.items() if k in specs}
    extra = {k: v for k, v in data.items() if k not in specs}
    return SiteConfig(**values, balancer=balancer, extra=extra)


def _balancer_from(table: Any, where: str) -> BalancerConfig | None:
    """The typed [balancer] table; unknown keys and wrong types are errors."""
    if table is None:
        return None
    where = f"{where} [balancer]"
    if not isinstance(table, dict):
        raise PremortemError(f"{where}: must be a table, not {table!r}")
    specs = {spec.name: spec for spec in balancer_keys()}
    unknown = [k for k in table if k not in specs]
    if unknown:
        raise PremortemError(f"{where}: {_unknown_key_message(unknown[0], list(specs))}")
    for name, value in table.items():
        if name == "event_stores":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise PremortemError(
                    f"{where}: key 'event_stores' must be a table of host = state dir"
                )
        else:
            _check_type(where, name, value, default_of(specs[name]))
    if table.get("kind", "haproxy") != "haproxy":
        raise PremortemError(f"{where}: kind {table['kind']!r}: only 'haproxy' is read")
    return BalancerConfig(**table)


def _unknown_key_message(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {name!r}{hint}; docs/config.md lists every key"


_TYPE_NAMES = {list: "a list of strings", str: "a string", int: "an integer"}


def _check_type(where: str, name: str, value: Any, default: Any) -> None:
    expected = str if default is None else type(default)
    if expected is list:
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    else:
        # TOML's true is not an int here: bool is a subclass of int in Python.
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        kind = _TYPE_NAMES.get(expected, expected.__name__)
        raise PremortemError(f"{where}: key {name!r} must be {kind}, not {value!r}")
