"""`php -l` of the installed PHP on one file: the confirmation of a syntax problem."""

from __future__ import annotations

import re
import shutil
import subprocess

_PHP_LINT_ERROR = re.compile(
    r"(?:PHP )?(?:Parse|Fatal) error:\s*(?P<msg>.*?) in (?P<file>.*) on line (?P<line>\d+)"
)


def php_lint(path: str, timeout: float = 20.0) -> tuple[bool, str | None, int | None] | None:
    """Run `php -l` on one file: (ok, message, line), or None if php cannot be run."""
    php = shutil.which("php")
    if php is None:
        return None
    try:
        proc = subprocess.run(
            [php, "-l", "-d", "display_errors=stderr", "-d", "log_errors=0", path],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode == 0:
        return True, None, None
    match = _PHP_LINT_ERROR.search(proc.stderr + proc.stdout)
    if match is None:
        return False, (proc.stderr or proc.stdout).strip().splitlines()[0][:200], None
    return False, match.group("msg"), int(match.group("line"))
