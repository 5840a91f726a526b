"""wp-config.php as WordPress's `define()` calls: the settings and the secrets among them.

- `define('NAME', 'value')` with single or double quotes and any spacing; a value's escaped
  quotes are kept as written;
- the secrets are the values of constants named like a password, key, salt, secret or
  token: ``DB_PASSWORD``, ``AUTH_KEY`` ... ``NONCE_SALT``;
- the files WordPress loads for a docroot (``wp-config.php`` there, else one directory up),
  and the files a site's secrets may live in besides: a release layout's
  ``shared/wp-config.php`` and Debian's ``/etc/wordpress/config-<host>.php``.

Every command that quotes or redacts a site's text reads wp-config.php through here, so
`fix` hides exactly what `diagnose` hides. Read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from premortem.readers.files import LOCAL_FILES

SECRET_NAME = re.compile(r"[A-Z0-9_]*(?:PASSWORD|PASS|_KEY|_SALT|SECRET|TOKEN)", re.IGNORECASE)
# define( 'DB_PASSWORD', 'value' );  group 1 is everything up to the value's opening quote.
DEFINE_RE = re.compile(
    r"""(define\s*\(\s*['"](?P<name>\w+)['"]\s*,\s*)"""
    r"""(?P<q>['"])(?P<value>(?:\\.|(?!(?P=q)).)*)(?P=q)""",
    # `DEFINE(` is define( too: PHP function names ignore case; a PHP string may span lines.
    re.IGNORECASE | re.DOTALL,
)
DEBIAN_CONFIGS = Path("/etc/wordpress")
MAX_WP_CONFIG_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Define:
    name: str
    value: str
    line: int


@dataclass
class WpConfig:
    path: Path
    defines: dict[str, Define] = field(default_factory=dict)  # the first define() of each name

    def value(self, name: str) -> str | None:
        found = self.defines.get(name)
        return found.value if found else None

    @property
    def secrets(self) -> list[str]:
        """The secret values (DB password, keys, salts), each once, in file order."""
        values = [d.value for d in self.defines.values() if is_secret(d.name) and d.value]
        return list(dict.fromkeys(values))


def is_secret(name: str) -> bool:
    return SECRET_NAME.fullmatch(name) is not None


def parse_wp_config(text: str, path: Path = Path("wp-config.php")) -> WpConfig:
    config = WpConfig(path)
    for match in DEFINE_RE.finditer(text):
        name = match.group("name")
        line = text.count("\n", 0, match.start()) + 1
        config.defines.setdefault(name, Define(name, match.group("value"), line))
    return config


def read_wp_config(path: Path) -> WpConfig | None:
    """The file's define()s; None when it cannot be read (a FIFO, device or directory is
    not opened: a FIFO with no writer would block)."""
    try:
        text = LOCAL_FILES.read_text(str(path), MAX_WP_CONFIG_BYTES)
    except (OSError, ValueError):  # ValueError: a docroot holding a NUL byte
        return None
    return parse_wp_config(text, path)


def loaded_wp_configs(docroot: str) -> list[WpConfig]:
    """The wp-config.php files WordPress looks for from `docroot`, the ones that exist."""
    root = Path(docroot)
    found = [
        read_wp_config(path) for path in (root / "wp-config.php", root.parent / "wp-config.php")
    ]
    return [config for config in found if config is not None]


def site_secrets(docroot: str | None) -> list[str]:
    """Every secret value of the site's wp-config files (those WordPress loads, a release
    layout's shared one, Debian's /etc/wordpress/config-*.php)."""
    paths: list[Path] = []
    if docroot:
        root = Path(docroot)
        paths += [root / "wp-config.php", root.parent / "wp-config.php"]
        paths.append(root.parent / "shared" / "wp-config.php")
    paths += sorted(DEBIAN_CONFIGS.glob("config-*.php"))
    secrets: list[str] = []
    for path in paths:
        config = read_wp_config(path)
        secrets += config.secrets if config else []
    return list(dict.fromkeys(secrets))
