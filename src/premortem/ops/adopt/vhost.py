"""Re-point a web server's docroot in its config files: the text edits `adopt` makes.

Apache: every `DocumentRoot OLD` and every `<Directory OLD>` (or `<Directory OLD/sub>`) in the
files the server reads becomes NEW (the section's settings, AllowOverride and Require, must
follow the docroot or WordPress's .htaccess and access rules stop applying). nginx: every
`root OLD;`. Each line keeps its indentation, quoting and trailing comment; nothing else in
the file changes. A directive the server reads with the old path that the edit cannot
rewrite (written through `${VAR}`, split over lines) is refused, naming file:line: a
half-re-pointed site is worse than none.

Files are written where they really are: Debian's sites-enabled/x.conf is a symlink to
sites-available/x.conf, and replacing the link by a file would break a2dissite.
`<DirectoryMatch>`, `Alias` and nginx `alias` are left alone (they name paths by pattern or
outside the docroot; the plan lists the files changed so the operator can check).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.deploy.apache import debian_confdir
from premortem.ops.remedy.plan import FilePlan
from premortem.readers.apache import read_apache_config
from premortem.readers.nginx import Directive, lint_nginx_config

_QUOTED_PATH = r"(?P<q>[\"']?)(?P<path>/[^\"'\s;>]*)(?P=q)"
_APACHE_DOCROOT = re.compile(r"^(?P<head>\s*DocumentRoot\s+)" + _QUOTED_PATH, re.IGNORECASE)
_APACHE_DIRECTORY = re.compile(r"^(?P<head>\s*<Directory\s+)" + _QUOTED_PATH, re.IGNORECASE)
_NGINX_ROOT = re.compile(r"^(?P<head>\s*root\s+)" + _QUOTED_PATH)


@dataclass
class Repointed:
    """The new text of one config file and the lines (1-based) it changed."""

    text: str
    lines: list[int] = field(default_factory=list)


def _clean(path: str) -> str:
    return os.path.normpath(path) if path else path


def _moved(path: str, old: str, new: str, *, under: bool) -> str | None:
    """`path` with `old` replaced by `new` when it is `old` (or, `under`, inside it)."""
    slash = "/" if path.endswith("/") and path != "/" else ""
    path = _clean(path)
    if path == old:
        return new + slash
    if under and path.startswith(old + "/"):
        return new + path[len(old) :] + slash
    return None


def _repoint_lines(
    text: str, rules: list[tuple[re.Pattern[str], bool]], old: str, new: str
) -> Repointed:
    old, new = _clean(old), _clean(new)
    out: list[str] = []
    changed: list[int] = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        for pattern, under in rules:
            match = pattern.match(line)
            moved = _moved(match.group("path"), old, new, under=under) if match else None
            if match is not None and moved is not None:
                quote = match.group("q")
                line = f"{match.group('head')}{quote}{moved}{quote}{line[match.end() :]}"
                changed.append(number)
                break
        out.append(line)
    return Repointed("".join(out), changed)


def repoint_apache(text: str, old: str, new: str) -> Repointed:
    """Apache config text with `DocumentRoot old` and `<Directory old[/...]>` pointing at new."""
    rules = [(_APACHE_DOCROOT, False), (_APACHE_DIRECTORY, True)]
    return _repoint_lines(text, rules, old, new)


def repoint_nginx(text: str, old: str, new: str) -> Repointed:
    """nginx config text with `root old;` pointing at new."""
    return _repoint_lines(text, [(_NGINX_ROOT, False)], old, new)


# ---------------------------------------------------------------- over a server's config


def apache_docroot_sites(conf: Path, old: str) -> tuple[list[str], list[tuple[str, int]]]:
    """(files the Apache config `conf` reads, (file, line) of each `DocumentRoot old`)."""
    root = debian_confdir(conf)
    config = read_apache_config(str(conf), str(root) if root else None, evaluate_conditions=False)
    if config.problems:
        file, line, _severity, message = config.problems[0]
        raise PremortemError(f"Apache config {file}:{line}: {message}")
    found = [
        (d.file, d.line)
        for d in config.named("DocumentRoot")
        if d.args and _clean(d.args[0]) == _clean(old)
    ]
    return list(config.files), found


def nginx_root_sites(conf: Path, old: str) -> tuple[list[str], list[tuple[str, int]]]:
    """(files the nginx config `conf` reads, (file, line) of each `root old`)."""
    files, errors = lint_nginx_config(str(conf))
    if errors:
        first = errors[0]
        raise PremortemError(
            f"nginx config {first.get('file')}:{first.get('line')}: {first.get('error')}"
        )
    found: list[tuple[str, int]] = []

    def walk(file: str, block: Iterable[Directive]) -> None:
        for directive in block:
            args = directive.get("args") or []
            if directive.get("directive") == "root" and args and _clean(args[0]) == _clean(old):
                found.append((file, int(directive.get("line") or 0)))
            walk(file, directive.get("block") or [])

    for file, parsed in files:
        walk(file, parsed)
    return [file for file, _parsed in files], found


def docroot_edits(server: str, conf: Path, old: str, new: str) -> list[FilePlan]:
    """The edits that make the server `server` (apache, nginx) of `conf` serve `new` where it
    served `old`: one FilePlan per file changed, its path the file's real path."""
    if server == "apache":
        files, wanted = apache_docroot_sites(conf, old)
        repoint: Callable[[str, str, str], Repointed] = repoint_apache
        what = "DocumentRoot"
    elif server == "nginx":
        files, wanted = nginx_root_sites(conf, old)
        repoint, what = repoint_nginx, "root"
    else:
        raise PremortemError(f"adopt supports apache and nginx, not {server!r}")
    if not wanted:
        raise PremortemError(f"no `{what} {old}` in the files {conf} reads: which site is it?")
    plans: list[FilePlan] = []
    edited: set[tuple[str, int]] = set()
    written: set[Path] = set()
    for file in dict.fromkeys(files):
        real = Path(os.path.realpath(file))
        before = real.read_bytes()
        result = repoint(before.decode("utf-8", "surrogateescape"), old, new)
        edited |= {(file, line) for line in result.lines}
        if result.lines and real not in written:  # one file read under two names
            written.add(real)
            after = result.text.encode("utf-8", "surrogateescape")
            plans.append(FilePlan(real, file, before, after))
    missed = [f"{file}:{line}" for file, line in wanted if (file, line) not in edited]
    if missed:
        raise PremortemError(
            f"cannot re-point `{what} {old}` at {', '.join(missed)} (written with a variable "
            "or over several lines?): change it to the new path by hand, or write it plainly"
        )
    return plans
