"""exposed-source: files a web server hands out as plain text that leak code or secrets."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from premortem.model import Finding, Fix
from premortem.rules.base import Rule

if TYPE_CHECKING:
    from premortem.check.context import CheckContext

# Editor backups and merge leftovers: served as text/plain with the PHP source inside.
_BACKUP_PATTERNS = (
    "*.php~",
    "*.php.bak",
    "*.bak",
    "*.orig",
    "*.rej",
    "*.swp",
    "*.swo",
    "*.php.old",
    "*.php.save",
    "*.php.dist~",
    "#*.php#",
    "*.php.txt",
)
# A PHP extension with a typo is not handed to PHP: the source is served as text.
_MISTYPED_PHP = re.compile(
    r"\.(?:phpp+|pphp|ph|hp|pgp|phpo|phph|php\d?\.|ohp|pjp|p\.hp)$", re.IGNORECASE
)
# One compiled pattern: fnmatch per pattern per file costs more than the rest of the rule.
_BACKUP = re.compile("|".join(fnmatch.translate(p) for p in _BACKUP_PATTERNS))
_SECRET_FILES = (".env", ".env.local", ".env.production", ".htpasswd", "wp-config.php.save")
_VCS_DIRS = (".git", ".svn", ".hg", ".bzr")


class ExposedSource(Rule):
    """
    ## What it does
    Reports files under the tree that a web server would send as plain text although they
    contain PHP source or secrets: editor backups and merge leftovers (`*.php~`, `*.bak`,
    `*.orig`, `*.swp`, ...), PHP files with a mistyped extension (`*.phpp`, `*.ph`),
    environment and password files (`.env`, `.htpasswd`) and version-control metadata
    (`.git/`).

    ## Why it breaks sites
    Only `*.php` goes through PHP; `wp-config.php.bak` or `wp-config.phpp` is downloaded as
    is, database password and keys included, and `.git/` gives away the whole history.
    A mistyped extension is also what a mistyped include points at.

    ## Example
    ```
    wp-config.php~        (left by an editor on the server)
    ```
    ```
    wp-config.php~: warning[exposed-source] editor backup of PHP source: served as plain text
    ```

    ## Fix
    Delete the file from the release (and keep it out with .gitignore / the build), or deny
    it in the server (`<FilesMatch "(~|\\.bak|\\.orig|\\.swp)$"> Require all denied`).
    """

    code = "exposed-source"
    summary = "backup, mistyped-extension, secret or VCS file served as plain text"
    severity = "warning"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for entry in ctx.tree.entries:
            name = entry.rel.rsplit("/", 1)[-1]
            reason: str | None = None
            if entry.kind == "dir" and name in _VCS_DIRS:
                reason = "version-control metadata: history and configuration downloadable"
            elif entry.kind != "file":
                continue
            elif name in _SECRET_FILES:
                reason = "secrets file: served as plain text"
            elif _BACKUP.match(name):
                reason = "editor backup or merge leftover: served as plain text"
            elif _MISTYPED_PHP.search(name):
                reason = "mistyped PHP extension: the source is served as plain text"
            if reason is None:
                continue
            yield Finding(
                rule=self.code,
                severity="warning",
                message=reason,
                file=entry.display,
                fix=Fix(
                    description=f"remove {entry.display} from the release",
                    commands=(f"rm -r -- {entry.path}",),
                ),
            )
