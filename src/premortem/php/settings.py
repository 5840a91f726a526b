"""What the installed PHP is configured with, as far as check needs it.

- `include_path`: where `require 'x.php'` looks (php.ini's value);
- `short_open_tag`: whether `<?` opens PHP code (else it is HTML): it decides what PHP's
  parser sees in a file (php.outline);
- the tokenizer extension's file, when it is a loadable module (Debian's php-common): then
  the outline process starts with `php -n` and that one module, in a quarter of the time
  php takes to load the 40-odd modules of a full install.

Asking php costs a process (30 to 80 ms); the answer is remembered in the cache directory
while the php binary and its CLI ini files are unchanged.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, fields
from functools import lru_cache

from premortem.cachedir import cache_dir
from premortem.php.knowledge import DEFAULT_INCLUDE_PATH

_QUERY = (
    "echo json_encode([ini_get('include_path'), (bool) ini_get('short_open_tag'),"
    " ini_get('extension_dir'), PHP_VERSION_ID]);"
)


@dataclass(frozen=True)
class PhpSettings:
    binary: str
    include_path: str = DEFAULT_INCLUDE_PATH
    short_open_tag: bool = False
    # The tokenizer module to load into `php -n`; "" when it is built in or not found.
    tokenizer_module: str = ""
    version_id: int = 0  # PHP_VERSION_ID: 80200 for 8.2.x; 0 when php did not say

    def outline_command(self) -> list[str]:
        """How to start php with the parser settings of the installed configuration."""
        tag = f"short_open_tag={int(self.short_open_tag)}"
        if self.tokenizer_module:
            return [self.binary, "-n", "-d", f"extension={self.tokenizer_module}", "-d", tag]
        return [self.binary, "-d", tag]


_FIELDS = {f.name for f in fields(PhpSettings)}


def _signature(php: str) -> str | None:
    """What php's answer depends on: the binary and its CLI ini files (mtimes)."""
    parts = [os.path.realpath(php)]
    for path in sorted(glob.glob("/etc/php/*/cli/php.ini") + glob.glob("/etc/php/*/cli/conf.d")):
        try:
            parts.append(f"{path}:{os.stat(path).st_mtime_ns}")
        except OSError:
            continue
    try:
        parts.append(str(os.stat(parts[0]).st_mtime_ns))
    except OSError:
        return None
    return "|".join(parts)


@lru_cache(maxsize=1)
def installed_php() -> PhpSettings | None:
    """The settings of the `php` on PATH (remembered); None without php."""
    php = shutil.which("php")
    if php is None:
        return None
    signature = _signature(php)
    memo = cache_dir() / "php-settings.json"
    if signature is not None:
        try:
            saved = json.loads(memo.read_text())
            # Every field, or it was written by another version of premortem: ask again.
            if saved.get("signature") == signature and set(saved["settings"]) == _FIELDS:
                return PhpSettings(**saved["settings"])
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            pass
    settings = _ask(php)
    if signature is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.write_text(json.dumps({"signature": signature, "settings": asdict(settings)}))
        except OSError:
            pass  # asked again next time
    return settings


def _ask(php: str) -> PhpSettings:
    try:
        proc = subprocess.run(
            [php, "-r", _QUERY], capture_output=True, text=True, timeout=10, check=False
        )
        include_path, short_open_tag, extension_dir, version_id = json.loads(proc.stdout)
    except (OSError, subprocess.SubprocessError, ValueError, TypeError):
        return PhpSettings(php)
    module = os.path.join(str(extension_dir or ""), "tokenizer.so")
    return PhpSettings(
        binary=php,
        include_path=str(include_path or "") or DEFAULT_INCLUDE_PATH,
        short_open_tag=bool(short_open_tag),
        tokenizer_module=module if extension_dir and os.path.isfile(module) else "",
        version_id=int(version_id) if isinstance(version_id, int) else 0,
    )
