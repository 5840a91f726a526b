"""The site config file (`premortem.toml`) that tells every command where a site lives.

`premortem lab up` writes one for the lab; operators write one for their own site. Example::

    url = "http://127.0.0.1:8080/"
    site_root = "/srv/premortem-lab/site"       # holds releases/, shared/, current
    docroot = "/srv/premortem-lab/site/current"
    server = "apache"                           # or "nginx"
    server_config = "/srv/premortem-lab/apache/httpd.conf"
    error_log = "/srv/premortem-lab/logs/error.log"
    access_log = "/srv/premortem-lab/logs/access.log"
    web_user = "www-data"
    state_dir = "/srv/premortem-lab/state"      # backups, incidents database, locks

Where the site's PHP, php-fpm, nginx and database keep their files, when they are not the
distribution's defaults (all optional; the lab sets them)::

    php_error_log = "/srv/premortem-lab/logs/php-error.log"
    php_fpm_config = "/srv/premortem-lab/php-fpm/php-fpm.conf"
    php_fpm_log = "/srv/premortem-lab/logs/php-fpm.log"
    php_fpm_pid_file = "/srv/premortem-lab/run/php-fpm.pid"
    nginx_pid_file = "/srv/premortem-lab/run/nginx.pid"
    db_socket = "/srv/premortem-lab/run/mysqld.sock"
    db_pid_file = "/srv/premortem-lab/run/mysqld.pid"
    db_port = 3307
    start_command = "premortem lab up --dir /srv/premortem-lab --port 8080"

``access_log_format`` says how the access log is written: ``""`` or ``combined`` (the
default: Apache's and nginx's combined), a Debian nickname (``common``, ``vhost_combined``
for /var/log/apache2/other_vhosts_access.log), ``'apache:<LogFormat string>'`` or
``'nginx:[escape=json ]<log_format string>'``. A format that logs the virtual host or port
(``%v``, ``%p``, ``$host``, ``$server_port``) makes premortem keep only this site's lines.

A file written before these were top-level keys has them in its ``[lab]`` table: they are
still read from there when the top-level key is absent. Other tables (``[lab]`` among them)
belong to whoever wrote them; product code reads only the typed fields.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from premortem.errors import PremortemError


@dataclass
class SiteConfig:
    url: str
    site_root: str
    docroot: str
    server: str = "apache"
    server_config: str = ""
    error_log: str = ""
    access_log: str = ""
    access_log_format: str = ""  # "" = combined; see the module docstring
    web_user: str = "www-data"
    state_dir: str = ""
    smoke_paths: list[str] = field(default_factory=lambda: ["/", "/wp-login.php"])
    shared_paths: list[str] = field(default_factory=lambda: ["wp-config.php", "wp-content/uploads"])
    php_error_log: str = ""
    php_fpm_config: str = ""  # the php-fpm master config behind nginx's fastcgi_pass
    php_fpm_log: str = ""
    php_fpm_pid_file: str = ""
    nginx_pid_file: str = ""
    db_socket: str = ""
    db_pid_file: str = ""
    db_port: int = 0
    # What a remedy tells the operator to run to start the site's servers ("" = systemctl).
    start_command: str = ""
    # Tables written by whoever owns them (e.g. [lab]); kept verbatim on rewrite.
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _fill_from_lab_table(self)

    @property
    def path_of_state(self) -> Path:
        return Path(self.state_dir or os.path.join(self.site_root, ".premortem"))

    def to_toml_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        return data


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


def write_site_config(config: SiteConfig, path: Path) -> None:
    """Write atomically (temp file + rename), so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".premortem.toml.")
    try:
        with os.fdopen(fd, "wb") as out:
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
        raise PremortemError(f"site config {path} does not exist") from None
    except OSError as exc:
        raise PremortemError(f"cannot read site config {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PremortemError(f"site config {path} is not valid TOML: {exc}") from None
    known = {f.name for f in fields(SiteConfig)} - {"extra"}
    missing = [k for k in ("url", "site_root", "docroot") if k not in data]
    if missing:
        raise PremortemError(f"site config {path} lacks required keys: {', '.join(missing)}")
    values = {k: v for k, v in data.items() if k in known}
    extra = {k: v for k, v in data.items() if k not in known}
    return SiteConfig(**values, extra=extra)
