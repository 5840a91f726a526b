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
    web_user: str = "www-data"
    state_dir: str = ""
    smoke_paths: list[str] = field(default_factory=lambda: ["/", "/wp-login.php"])
    shared_paths: list[str] = field(default_factory=lambda: ["wp-config.php", "wp-content/uploads"])
    # Tables written by whoever owns them (e.g. [lab]); kept verbatim on rewrite.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path_of_state(self) -> Path:
        return Path(self.state_dir or os.path.join(self.site_root, ".premortem"))

    def to_toml_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        return data


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
