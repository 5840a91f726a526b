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


# Compile errors `php -l` finds that are not grammar errors (tree-sitter accepts them):
# PHP 8 refuses `function __autoload()`, and a class whose parent or interface is declared
# in the same file is bound at compile time, so an incompatible method signature fails
# `php -l`. Only files holding such constructs are worth a php process.
_AUTOLOAD = re.compile(rb"function\s+&?\s*__autoload\s*\(", re.IGNORECASE)
_DECLARED = re.compile(rb"\b(?:class|interface|trait)\s+(\w+)", re.IGNORECASE)
_PARENTS = re.compile(rb"\b(?:extends|implements)\s+([\w\\,\s]+?)\s*\{", re.IGNORECASE)


def may_not_compile(source: bytes) -> bool:
    """Whether `source` holds a construct that compiles only if PHP agrees (needles first:
    most files are ruled out by a bytes search)."""
    if (b"__autoload" in source or b"__AUTOLOAD" in source) and _AUTOLOAD.search(source):
        return True
    if b"extends" not in source and b"implements" not in source:
        return False
    if source.count(b"class ") + source.count(b"interface ") < 2:
        return False
    declared = {name.lower() for name in _DECLARED.findall(source)}
    if len(declared) < 2:
        return False
    for names in _PARENTS.findall(source):
        for name in re.split(rb"[\s,]+", names):
            if name.rsplit(b"\\", 1)[-1].lower() in declared - {b"extends", b"implements"}:
                return True
    return False
