"""The file collector: what analyzers need to know about the files the evidence names.

Run after the HTTP, trace and log collectors, through the `Host` (so it runs on a host
given as data too). For the docroot (and its realpath), the paths the trace and the logs
name, the parents of each (modes and owners: which one the web user may not search), the
database's run directories: a `FileStat`. The `.htaccess` files on the request's path and
those the logs name: their lines. The wp-config.php files WordPress loads: their define()s,
secrets redacted; a wp-config.php linked in from outside the release: its text. The PHP
source lines the messages name. For each path PHP failed to open (ENOENT): whether it exists
now, did-you-mean and the include statement that builds it, through `php/` (only on this
machine's own files: php/ reads them itself). Analyzers read these facts and no file.

Bounded: at most `MAX_NAMED_PATHS` paths, `MAX_TEXT_BYTES` of each text. Read-only.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from premortem import php
from premortem.collectors import EvidenceSet
from premortem.collectors.logs import PhpMessage
from premortem.errors import PremortemError
from premortem.host import Host, path_chain
from premortem.model import (
    FileEvidence,
    IncludeFacts,
    SharedWpConfig,
    SourceLine,
    WpConfigFacts,
    WpDefine,
)
from premortem.php.dirconst import SIBLING
from premortem.php.parsing import parse_tree
from premortem.php.walk import Tree, walk_tree
from premortem.readers.wpconfig import DEBIAN_CONFIGS, is_secret, parse_wp_config

MAX_NAMED_PATHS = 64
MAX_TEXT_BYTES = 256 * 1024
MAX_SOURCE_BYTES = 4 * 1024 * 1024
REDACTED = "[REDACTED]"

# PHP's words for an include whose file does not exist (the missing-file analyzer's too).
MISSING_RE = re.compile(
    r"Failed opening required '(?P<path>[^']+)'|"
    r"(?:require|include)(?:_once)?\((?P<path2>[^)]+)\): [Ff]ailed to open stream: No such file"
)
# Absolute paths in a log line: quoted ('...', "...", (...)) or a bare word.
_PATH_RES = (
    re.compile(r"'(/[^']+)'"),
    re.compile(r'"(/[^"]+)"'),
    re.compile(r"\((/[^)]+)\)"),
    re.compile(r"(?<![\w/.'\"(])(/[^\s'\"(),]+)"),
)


def collect_site_files(docroot: str | None, web_user: str, host: Host) -> FileEvidence:
    """The facts about the site itself: its docroot, wp-config.php files and web user
    (wanted before the database collector, which needs DB_HOST)."""
    files = FileEvidence(web_user=host.user(web_user))
    if docroot:
        files.docroot_real = host.realpath(docroot)
        _stat_chain(files, docroot, host)
        files.wp_configs = wp_configs(docroot, host)
        files.shared_wp_config = shared_wp_config(docroot, host)
    return files


def collect_files(evidence: EvidenceSet, host: Host) -> FileEvidence:
    """Every file fact the analyzers read, for the evidence gathered so far."""
    files = evidence.files or collect_site_files(_site_root(evidence), evidence.web_user, host)
    for path in named_paths(evidence):
        _stat_chain(files, path, host)
    # The database's run directories and the disks' mount paths: which file system is whose.
    disks = [disk.path for disk in evidence.host.disks] if evidence.host else []
    for path in [*(evidence.database.run_dirs if evidence.database else []), *disks]:
        _stat_chain(files, path, host)
    for path in _identity_paths(evidence):
        files.real_paths.setdefault(path, host.realpath(path))
    for path in _htaccess_files(evidence):
        lines = host.read_lines(path, MAX_TEXT_BYTES)
        if lines is not None:
            files.texts[path] = lines
    files.source_lines = _source_lines(evidence, host)
    files.missing = _missing_targets(evidence, host)
    return files


def named_paths(evidence: EvidenceSet) -> list[str]:
    """The absolute paths the trace's failed calls, the error logs and the page name."""
    found: list[str] = []
    if evidence.trace is not None:
        found += [f.call.path for f in evidence.trace.causes if f.call.path]
    found += [path for text in _log_texts(evidence) for path in _paths_in(text)]
    found += list(missing_targets(evidence))
    if evidence.server and evidence.server.docroot:
        found.append(evidence.server.docroot)  # docroot-missing looks at the server's own
    absolute = [p for p in dict.fromkeys(found) if p.startswith("/")]
    return absolute[:MAX_NAMED_PATHS]


def _site_root(evidence: EvidenceSet) -> str | None:
    return evidence.docroot or (evidence.server.docroot if evidence.server else None)


def htaccess_chain(root: str, request_path: str) -> list[tuple[str, str]]:
    """(.htaccess file, URL prefix) of every directory Apache reads one in for a request of
    `request_path` under the docroot `root`, the docroot's first."""
    chain, directory, prefix = [], root, "/"
    parts = [p for p in request_path.split("/")[:-1] if p and p not in (".", "..")]
    for part in ["", *parts]:
        if part:
            directory, prefix = posixpath.join(directory, part), f"{prefix}{part}/"
        chain.append((posixpath.join(directory, ".htaccess"), prefix))
    return chain


def wp_configs(docroot: str, host: Host) -> list[WpConfigFacts]:
    """The wp-config.php files WordPress looks for from `docroot`, secrets redacted."""
    found = []
    for path in (
        posixpath.join(docroot, "wp-config.php"),
        posixpath.join(docroot, "..", "wp-config.php"),
    ):
        data = host.read_bytes(path, MAX_TEXT_BYTES)
        if data is None:
            continue
        shown = posixpath.normpath(path)
        config = parse_wp_config(data.decode("utf-8", errors="replace"), Path(shown))
        defines = {
            name: WpDefine(REDACTED if is_secret(name) else define.value, define.line)
            for name, define in config.defines.items()
        }
        found.append(WpConfigFacts(shown, defines))
    return found


def shared_wp_config(docroot: str, host: Host) -> SharedWpConfig | None:
    """The site's wp-config.php when it is a symlink to a file outside the release."""
    link = posixpath.join(docroot, "wp-config.php")
    target = host.readlink(link)
    if target is None:
        return None
    target = posixpath.normpath(posixpath.join(docroot, target))
    release = host.realpath(docroot)
    if posixpath.dirname(host.realpath(target)) == release:
        return None  # linked within the release: __DIR__ is the release
    data = host.read_bytes(target, MAX_TEXT_BYTES)
    if data is None:
        return None
    text = data.decode("utf-8", errors="replace")
    for secret in parse_wp_config(text).secrets:
        text = text.replace(secret, REDACTED)
    beside = posixpath.dirname(target)
    names = {name for line in text.splitlines() for name in SIBLING.findall(line)}
    shared = [
        name
        for name in sorted(names)
        if host.stat(posixpath.join(beside, name)).lexists
        and not host.stat(posixpath.join(release, name)).lexists
    ]
    wordpress = host.stat(posixpath.join(docroot, "wp-load.php")).kind == "file"
    return SharedWpConfig(link, target, text, wordpress, tuple(shared))


def site_secrets(docroot: str | None, host: Host) -> list[str]:
    """Every secret value of the site's wp-config files (those WordPress loads, a release
    layout's shared one, Debian's /etc/wordpress/config-*.php), read through the host: what
    the redactor must never let out. Never stored in the evidence."""
    paths: list[str] = []
    if docroot:
        parent = posixpath.dirname(posixpath.normpath(docroot))
        paths += [posixpath.join(docroot, "wp-config.php"), posixpath.join(parent, "wp-config.php")]
        paths.append(posixpath.join(parent, "shared", "wp-config.php"))
    debian = str(DEBIAN_CONFIGS)
    names = host.listdir(debian) or []
    paths += [
        posixpath.join(debian, n) for n in names if n.startswith("config-") and n.endswith(".php")
    ]
    secrets: list[str] = []
    for path in paths:
        data = host.read_bytes(path, MAX_TEXT_BYTES)
        if data is not None:
            secrets += parse_wp_config(data.decode("utf-8", errors="replace")).secrets
    return list(dict.fromkeys(secrets))


def _stat_chain(files: FileEvidence, path: str, host: Host) -> None:
    for step in path_chain(path):
        if step not in files.paths:
            files.paths[step] = host.stat(step)


def _log_texts(evidence: EvidenceSet) -> Iterator[str]:
    if evidence.logs is not None:
        yield from (line.message for line in evidence.logs.lines[-400:])
    if evidence.http is not None:
        yield from (m.raw for m in evidence.http.php_messages)


def _paths_in(text: str) -> list[str]:
    found: list[str] = []
    for pattern in _PATH_RES:
        found += [p.rstrip(".:;") for p in pattern.findall(text)]
    return found


def _identity_paths(evidence: EvidenceSet) -> list[str]:
    """Paths whose realpath analyzers compare: logs, php-fpm's log and configs."""
    paths: list[str] = []
    if evidence.logs is not None:
        paths += evidence.logs.error_logs
        paths += list(dict.fromkeys(line.source for line in evidence.logs.lines))
    fpm = evidence.server.php_fpm if evidence.server else None
    if fpm is not None:
        paths += [fpm.error_log, *(other.config_file for other in fpm.other_pools)]
    if evidence.site is not None:
        paths.append(evidence.site.php_fpm_config)
    return [p for p in dict.fromkeys(paths) if p.startswith("/")][:MAX_NAMED_PATHS]


def _htaccess_files(evidence: EvidenceSet) -> list[str]:
    found: list[str] = []
    root = _site_root(evidence)
    if root and evidence.http is not None:
        try:
            request_path = urlsplit(evidence.http.url).path or "/"
        except ValueError:
            request_path = "/"
        found += [path for path, _prefix in htaccess_chain(root, request_path)]
    found += [p for text in _log_texts(evidence) for p in _paths_in(text)]
    return [p for p in dict.fromkeys(found) if p.endswith("/.htaccess")][:MAX_NAMED_PATHS]


def request_messages(evidence: EvidenceSet) -> list[PhpMessage]:
    """The replayed request's PHP messages: logged, then shown on the page."""
    found: list[PhpMessage] = []
    if evidence.logs is not None:
        found += [m for m in evidence.logs.php if m.this_request]
    if evidence.http is not None:
        found += evidence.http.php_messages
    return found


def _source_lines(evidence: EvidenceSet, host: Host) -> list[SourceLine]:
    wanted = {(m.file, m.line) for m in request_messages(evidence) if m.file and m.line}
    found = []
    for file, line in sorted(wanted)[:MAX_NAMED_PATHS]:
        lines = host.read_lines(file, MAX_SOURCE_BYTES)
        if lines is not None and 0 < line <= len(lines):
            found.append(SourceLine(file, line, lines[line - 1]))
    return found


def failed_loads(evidence: EvidenceSet) -> Iterator[tuple[str, str]]:
    """(path, the syscall's text) of each file the trace shows PHP failing to open for
    reading with ENOENT."""
    if evidence.trace is None:
        return
    for failed in evidence.trace.causes:
        call = failed.call
        if call.errno == "ENOENT" and call.opens_for_reading and call.path:
            yield call.path, call.text


def missing_path(message: PhpMessage) -> str | None:
    """The path a PHP message says an include could not open (None: not such a message)."""
    match = MISSING_RE.search(message.text)
    if match is None:
        return None
    return match.group("path") or match.group("path2") or ""


def missing_targets(evidence: EvidenceSet) -> dict[str, bool]:
    """The paths PHP failed to open for an include (ENOENT opens in the trace, PHP's
    "Failed opening required" in the log or on the page), each with whether a message
    names the line that asked for it (as the missing-file analyzer reads them)."""
    found: dict[str, bool] = {}
    for target, _call in failed_loads(evidence):
        found.setdefault(target, False)
    for message in request_messages(evidence):
        path = missing_path(message)
        if path is None:
            continue
        if message.severity == "Warning" and path in found:
            continue
        found[path] = found.get(path, False) or bool(message.file and message.line)
    return found


def _missing_targets(evidence: EvidenceSet, host: Host) -> dict[str, IncludeFacts]:
    found: dict[str, IncludeFacts] = {}
    for target, logged in list(missing_targets(evidence).items())[:MAX_NAMED_PATHS]:
        exists = host.exists(target)
        suggestion = _suggest(target, host) if not exists else None
        facts = IncludeFacts(target, exists=exists, suggestion=suggestion)
        if not exists and not logged and host.local_files:
            facts = _with_include_site(evidence, facts)
        found[target] = facts
    return found


def _suggest(target: str, host: Host) -> str | None:
    if not host.local_files or "\0" in target:
        return None
    try:
        suggestion = php.suggest_existing(Path(target))
    except (OSError, ValueError):
        return None
    return str(suggestion) if suggestion is not None else None


def _with_include_site(evidence: EvidenceSet, facts: IncludeFacts) -> IncludeFacts:
    """The include that builds `facts.target` (via php/'s resolver) and the edit to the
    suggestion. Of several includes resolving to that path, the one in a file the traced
    request loaded is the one that ran."""
    root = _site_root(evidence)
    if not root or "\0" in root or "\0" in facts.target:
        return facts
    traced = evidence.trace.loaded_files if evidence.trace else []
    loaded = {os.path.realpath(p) for p in traced if "\0" not in p}
    try:
        sites = _includes_in_loaded_files(root, loaded, facts.target) if loaded else []
        if not sites:
            sites = list(php.find_includes_of(Path(root), Path(facts.target)))
    except (PremortemError, OSError, ValueError):  # the docroot is gone or unreadable
        return facts
    if not sites:
        return facts
    sites.sort(key=lambda site: os.path.realpath(site.file) not in loaded)
    chosen = sites[0]
    edit = None
    if facts.suggestion is not None:
        edit = php.edit_for_suggestion(chosen, Path(facts.target), Path(facts.suggestion))
    site = SourceLine(str(chosen.file), int(chosen.line), str(chosen.source_line))
    return IncludeFacts(facts.target, False, facts.suggestion, site, str(chosen.expression), edit)


def _includes_in_loaded_files(root: str, loaded: set[str], missing: str) -> list[php.IncludeSite]:
    """The resolver run over only the PHP files the traced request loaded.

    The include that failed ran in one of them, and the constants it uses were defined by
    them, so this finds the same statement as resolving the whole tree, in a fraction of the
    time (no full parse of a cold tree).
    """
    tree = walk_tree(root)
    subset = Tree(
        tree.root,
        tree.root_real,
        [e for e in tree.entries if not e.is_php or os.path.realpath(e.path) in loaded],
    )
    # No cache: a subset must not replace the cache `premortem check` keeps for the tree.
    parsed = parse_tree(subset, use_cache=False)
    wanted = os.path.realpath(missing)
    return [
        site
        for site in php.IncludeResolver(subset, parsed).sites()
        if any(os.path.realpath(c) == wanted for c in site.candidates)
    ]
