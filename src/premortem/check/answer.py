"""The answer cache: a check of a tree in which nothing changed answers from one read.

A re-run of an unchanged release (a deploy gate run twice, a CI job re-run) would parse
nothing already (the parse cache), but would still resolve every include and apply every
rule. Instead, the findings and counts of the last check of the tree are kept with what
they were computed from, and given again when all of it is unchanged:

- the tree: every walked entry (name, kind, the stat signature of size, mtime, ctime,
  inode, device, mode and owner, the symlink's target and its problem), from the walk
  that every check does first; as git's index does, a rewritten file changes its ctime;
- what the resolver looked at outside the tree: every include candidate that is not a
  walked entry, its missing directories and the nearest existing one (stat and lstat
  signatures: a file created or removed there changes that directory's mtime; a
  directory replaced, or a symlink above it re-pointed, changes its inode), and the
  directories down to each did-you-mean suggestion outside the tree (what was listed);
- the options (include_path, defines, user), the user's uid and groups, /etc/passwd and
  /etc/group (owner names in messages), the installed php and its ini files (the default
  include_path, `php -l` verdicts), and premortem's own check code (its files' stats).

Any difference, or --server-config, or a subset of the rules, or --no-cache: the full
check runs (and saves its answer). As git does with its index ("racy git"), no answer
is saved while an entry changed less than RACY_NS before the walk: file times are
coarse (a clock tick), and a second change within the tick could keep the same times.
The answer is one pickle beside the parse cache. A new input of the resolver or of a
rule (a file it reads outside the tree) must be added to the key here.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from premortem.cachedir import tree_cache_file
from premortem.php.walk import Tree

if TYPE_CHECKING:
    from premortem.check.context import CheckOptions
    from premortem.model import Finding
    from premortem.php.includes import IncludeSite

ANSWER_VERSION = 2
# Entries changed this recently before the walk may change again with the same times.
RACY_NS = 500_000_000
Signature = tuple[int, ...] | None
# The modules whose code decides a check's findings (their files' stats are in the key).
_CODE_DIRS = ("php", "rules", "check")
_CODE_FILES = ("registry.py", "model.py", "problem.py", "__init__.py")


def _signature(st: os.stat_result) -> tuple[int, ...]:
    return (
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_ino,
        st.st_dev,
        st.st_mode,
        st.st_uid,
        st.st_gid,
    )


def _stat(path: str, follow: bool = True) -> Signature:
    try:
        return _signature(os.stat(path) if follow else os.lstat(path))
    except (OSError, ValueError):
        return None


def tree_signature(tree: Tree) -> bytes:
    """A digest of every walked entry: name, kind, stat (see walk.pack_stat: size, mtime,
    ctime, inode, device, mode, owner), symlink target and problem, read error. A digest,
    not the list: a tree of a million files would keep a million tuples to compare."""
    digest = hashlib.blake2b(digest_size=32)
    for e in tree.entries:
        text = repr((e.rel, e.kind, e.is_link, e.link_target, e.link_problem, e.error))
        digest.update(text.encode("utf-8", "surrogatepass"))
        # repr() escapes control characters: the markers cannot be mistaken for a name.
        digest.update(b"\0" if e.stat_bytes is None else b"\1" + e.stat_bytes)
    return digest.digest()


def _entry_times(tree: Tree) -> Iterable[Signature]:
    """(size, mtime_ns, ctime_ns) of every entry that could be stat'ed (for _racy)."""
    for e in tree.entries:
        if e.stat_bytes is not None:
            st = e.st
            assert st is not None
            yield (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _code_signature() -> list[tuple[str, Signature]]:
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found: list[tuple[str, Signature]] = []
    for name in _CODE_FILES:
        found.append((name, _stat(os.path.join(package, name))))
    for directory in _CODE_DIRS:
        try:
            with os.scandir(os.path.join(package, directory)) as iterator:
                names = sorted(e.name for e in iterator if e.name.endswith((".py", ".php")))
        except OSError:
            names = []
        found += [(f"{directory}/{n}", _stat(os.path.join(package, directory, n))) for n in names]
    return found


def _php_signature() -> list[tuple[str, Signature]]:
    """The installed php and its CLI ini files (what the default include_path and the
    php -l verdicts come from). Without shutil and glob: their imports cost more."""
    paths = [
        os.path.realpath(found)
        for directory in os.get_exec_path()
        if os.path.isfile(found := os.path.join(directory, "php")) and os.access(found, os.X_OK)
    ][:1]
    try:
        versions = sorted(os.listdir("/etc/php"))
    except OSError:
        versions = []
    for version in versions:
        paths += [f"/etc/php/{version}/cli/php.ini", f"/etc/php/{version}/cli/conf.d"]
    paths += ["/etc/php"]  # a version added or removed
    return [(path, _stat(path)) for path in paths]


def _key(options: CheckOptions) -> tuple[Any, ...]:
    from premortem import __version__
    from premortem.rules.unreadable import account

    who = account(options.user)
    return (
        ANSWER_VERSION,
        __version__,
        tuple(options.include_path) if options.include_path is not None else None,
        tuple(sorted(options.defines.items())),
        (who.name, who.uid, tuple(sorted(who.gids))),
        options.confirm_with_php,
        options.php_lint,
        _stat("/etc/passwd"),
        _stat("/etc/group"),
        _php_signature(),
        _code_signature(),
    )


def outside_paths(
    tree: Tree, sites: Iterable[IncludeSite], findings: Iterable[Finding]
) -> list[str]:
    """The include candidates the walk did not see, up to their nearest existing
    directory, and the directories of the suggestions outside the tree."""
    roots = {tree.root, tree.root_real}
    found: set[str] = set()

    def add(path: str, *, up_to_existing: bool) -> None:
        path = os.path.normpath(path)
        while path not in found and path not in roots and tree.entry_at(path) is None:
            found.add(path)
            parent = os.path.dirname(path)
            if parent == path or (up_to_existing and os.path.lexists(path)):
                break
            path = parent

    for site in sites:
        for candidate in site.candidate_paths:
            add(candidate, up_to_existing=True)
    for finding in findings:
        if finding.suggestion and os.path.isabs(finding.suggestion):
            add(finding.suggestion, up_to_existing=False)
    return sorted(found)


def _probes(paths: list[str]) -> list[tuple[str, Signature, Signature]]:
    return [(path, _stat(path, follow=False), _stat(path)) for path in paths]


def usable(options: CheckOptions, rules_given: bool) -> bool:
    """Whether this check may answer from (and save) the answer cache."""
    return options.use_cache and not rules_given and not options.server_configs


def _answer_file(tree: Tree) -> Path:
    return tree_cache_file(tree.root_real).with_suffix(".answer")


def load(tree: Tree, options: CheckOptions) -> tuple[list[Finding], dict[str, Any]] | None:
    """The findings and stats of the last check of this tree, if nothing it used changed."""
    try:
        with _answer_file(tree).open("rb") as handle:
            saved = pickle.load(handle)
        if (
            saved["root"] != tree.root
            or saved["tree"] != tree_signature(tree)
            or saved["key"] != _key(options)
            or saved["probes"] != _probes([p for p, _, _ in saved["probes"]])
        ):
            return None
        findings, stats = saved["findings"], saved["stats"]
    except Exception:  # no answer, or one this version cannot read: check
        return None
    if not isinstance(findings, list) or not isinstance(stats, dict):
        return None
    return findings, stats


def _racy(signatures: Iterable[Signature], walked_ns: int) -> bool:
    """Whether an entry changed (mtime or ctime) within RACY_NS of the walk, or after."""
    return any(s is not None and max(s[1], s[2]) >= walked_ns - RACY_NS for s in signatures)


def save(
    tree: Tree,
    options: CheckOptions,
    sites: Iterable[IncludeSite],
    findings: list[Finding],
    stats: dict[str, Any],
    walked_ns: int,
) -> None:
    """Keep this check's answer, unless the tree is too fresh to be told from its next
    change (see RACY_NS)."""
    from premortem.php.parsing import save_cache  # loaded by the run that gave the answer

    probes = _probes(outside_paths(tree, sites, findings))
    if _racy(_entry_times(tree), walked_ns) or _racy(
        (sig for _, lstat_sig, stat_sig in probes for sig in (lstat_sig, stat_sig)), walked_ns
    ):
        return
    data = {
        "root": tree.root,
        "tree": tree_signature(tree),
        "key": _key(options),
        "probes": probes,
        "findings": findings,
        "stats": stats,
    }
    # An answer that cannot be saved only costs the next run its time.
    save_cache(_answer_file(tree), data)
