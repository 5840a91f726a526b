"""Resolve every include/require of a tree to the files PHP would try to open.

Relative paths follow PHP's rules: `./x` and `../x` are relative to the working
directory only (for a web request, the directory of the requested script: the entry
point's, see php.entrypoints; guessed as the including file's directory and each parent
up to the tree root where no entry point is known to reach the file); other relative
paths go through each include_path entry (`.` meaning the working directory) and then the
including file's own directory.

An include is *missing* when it resolves to at least one path and none of the paths
exists. Paths inside the analysed tree win over paths outside it: a release checked in
a temporary directory must not be excused by the live copy in /usr/share/wordpress.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from premortem.php.constants import ConstantTable
from premortem.php.entrypoints import Cwds, Reach, entry_points, parents, reaches, reaching
from premortem.php.evaluate import (
    Definition,
    Evaluator,
    Value,
    alternatives,
    default_include_path,
    detect_profiles,
    parse_php_expression,
    value_text,
)
from premortem.php.parsing import ParseResult, constants_of
from premortem.php.syntax import Expr, RawInclude
from premortem.php.walk import Tree, is_within


@dataclass(frozen=True, slots=True)
class IncludeSite:
    """One include/require statement and the paths its expression resolves to.

    Slotted, with the statement as parsed (its line, kind, text... are the RawInclude's,
    shared with the facts) and its file as the walk's string (`file` makes the Path when
    asked): a tree of a million files holds a site for each of their includes.
    """

    file_path: str
    include: RawInclude
    # Where PHP looks, in order (`candidates` as Path objects): strings, shared with the
    # resolver's, not a Path object for each of a million targets.
    candidate_paths: tuple[str, ...] = ()
    # The statically evaluated paths (before include_path), with literal provenance.
    values: tuple[Value, ...] = field(default=(), compare=False, repr=False)
    exists: bool = False
    rel: str = ""
    # Resolved only by finding the file, because the code sets include_path at run time to
    # something not statically known: if the file were missing, the site would be
    # unresolved rather than missing.
    runtime_include_path: bool = False
    # Why PHP cannot open the target whatever the files are ("an empty path", "an array"):
    # its value is known and is not a path.
    invalid: str = ""
    # The entry point (served or run directly) from which a relative target is missing:
    # the working directory it gives makes PHP look where the file is not.
    entry_point: str = ""

    @property
    def file(self) -> Path:
        return Path(self.file_path)

    @property
    def candidates(self) -> tuple[Path, ...]:
        return tuple(Path(c) for c in self.candidate_paths)

    @property
    def line(self) -> int:
        return self.include.line

    @property
    def column(self) -> int:
        return self.include.column

    @property
    def kind(self) -> str:
        """include | include_once | require | require_once"""
        return self.include.kind

    @property
    def expression(self) -> str:
        return self.include.expression

    @property
    def source_line(self) -> str:
        return self.include.source_line

    @property
    def guarded(self) -> bool:
        return self.include.guarded

    @property
    def suppressed(self) -> bool:
        return self.include.suppressed

    @property
    def resolved(self) -> bool:
        return bool(self.candidate_paths) or bool(self.invalid)

    @property
    def missing(self) -> bool:
        return bool(self.invalid) or (self.resolved and not self.exists)

    def missing_candidate(self) -> Path:
        """The path to show as missing: the first one whose directory exists."""
        candidates = self.candidates
        for candidate in candidates:
            if os.path.isdir(candidate.parent):  # False, not ENAMETOOLONG, for odd paths
                return candidate
        return candidates[0]

    @property
    def fatal(self) -> bool:
        """require* of a missing file is a fatal error (HTTP 500); include* only warns,
        except of a value that throws (an empty path: ValueError; an object: Error)."""
        return self.kind.startswith("require") or self.invalid in ALWAYS_FATAL


# Include targets that throw in PHP 8 even for `include`: "" (and false, null) is a
# ValueError ("Path cannot be empty"), an object without __toString an Error.
ALWAYS_FATAL = frozenset({"an empty path", "an object", "null", "a boolean"})


# Working directories of the files holding includes check cannot resolve, added to the
# guesses of an entry point that may be one of the pages they include.
MAX_OTHER_CWDS = 64


# A function that takes the new include_path and passes it on (a library's wrapper).
WRAPPER = re.compile(rb"function\s+(set_include_path|ini_set)\s*\(", re.IGNORECASE)
COMPOSER_ENTRY = re.compile(r"\$(vendorDir|baseDir)\s*\.\s*'([^'\\]*)'")


def composer_include_paths(composer_dir: str) -> list[str] | None:
    """The entries Composer's generated include_paths.php returns (`$vendorDir . '/x'`)."""
    try:
        with open(os.path.join(composer_dir, "include_paths.php"), encoding="utf-8") as handle:
            text = handle.read(1 << 20)
    except (OSError, UnicodeDecodeError):
        return None
    vendor_dir = posixpath.dirname(composer_dir)
    base_dir = vendor_dir if "$baseDir = $vendorDir;" in text else posixpath.dirname(vendor_dir)
    directories = {"vendorDir": vendor_dir, "baseDir": base_dir}
    return [directories[name] + tail for name, tail in COMPOSER_ENTRY.findall(text)]


def split_include_path(spec: str) -> list[str]:
    return [p for p in spec.split(":") if p]


class IncludeResolver:
    """Everything needed to resolve the includes of one parsed tree."""

    def __init__(
        self,
        tree: Tree,
        parsed: ParseResult,
        *,
        include_path: list[str] | None = None,
        defines: Mapping[str, str] | None = None,
    ) -> None:
        self.tree = tree
        self.parsed = parsed
        self.roots = {tree.root, tree.root_real}
        definitions = ConstantTable(constants_of)
        variables: dict[str, list[Definition]] = {}
        self._real: dict[str, str] = {}
        self._is_file: dict[str, bool] = {}
        self._candidates: dict[tuple[str, ...], tuple[str, ...]] = {}
        for order, parsed_file in enumerate(parsed.files):
            facts = parsed_file.facts
            if not facts.defines and not facts.pending_constants:
                continue
            path = parsed_file.entry.path
            context = self.real_path(path)
            for name, expr in facts.defines:
                definitions.add(name, order, Definition(expr, context))
            definitions.announce(facts.pending_constants, order, path, context)
        php_dirs = {os.path.dirname(f.entry.path) for f in parsed.files}
        self.profiles = detect_profiles(tree.root, php_dirs)
        for profile, app_root in self.profiles:
            context = os.path.join(os.path.realpath(app_root), "__premortem_knowledge__.php")
            for name, sources in profile.constants.items():
                for source in sources:
                    expr = parse_php_expression(source)
                    definitions.add(name, len(parsed.files), Definition(expr, context))
            for name, sources in profile.variables.items():
                for source in sources:
                    expr = parse_php_expression(source)
                    variables.setdefault(name, []).append(Definition(expr, context))
        spec = default_include_path() if include_path is None else ":".join(include_path)
        self.evaluator = Evaluator(
            definitions, variables=variables, overrides=defines, include_path=spec
        )
        self._chdirs = {f.entry.path: f.facts.chdirs for f in parsed.files if f.facts.chdirs}
        self.include_path = split_include_path(spec)
        # Entries added by set_include_path()/ini_set() in the analysed code itself.
        self.include_path_is_dynamic = False
        for parsed_file in parsed.files:
            context = self.real_path(parsed_file.entry.path)
            for expr in parsed_file.facts.include_paths:
                evaluated = self.evaluator.evaluate(expr, context, keep_raw=False)
                texts = [value_text(v) for v in evaluated] or self._known_setting(context)
                if texts is None:
                    self.include_path_is_dynamic = True
                for text in texts or ():
                    for item in split_include_path(text):
                        # A relative entry is relative to the working directory.
                        if item not in self.include_path:
                            self.include_path.append(item)

    def _known_setting(self, path: str) -> list[str] | None:
        """What a set_include_path() check cannot evaluate in the file `path` sets, when
        that is known otherwise: an application's (knowledge), Composer's include_paths.php,
        nothing for a wrapper that passes its parameter on; None if not known."""
        for profile, app_root in self.profiles:
            rel = os.path.relpath(path, self.real_path(app_root))
            sources = profile.include_paths.get(rel)
            if sources is not None:
                context = os.path.join(self.real_path(app_root), "__premortem_knowledge__.php")
                return [
                    value_text(value)
                    for source in sources
                    for value in self.evaluator.evaluate(
                        parse_php_expression(source), context, keep_raw=False
                    )
                ]
        if path.endswith("/composer/autoload_real.php"):
            return composer_include_paths(posixpath.dirname(path))
        try:
            with open(path, "rb") as handle:
                text = handle.read(1 << 20)
        except OSError:
            return None
        # Safe\set_include_path(string $new_include_path) { \set_include_path($new...) }
        return [] if WRAPPER.search(text) else None

    def _points_inside(self, text: str) -> bool:
        if not text.startswith("/"):
            return True  # relative: resolved from the including file's side of the tree
        normalised = posixpath.normpath(text)
        return any(is_within(normalised, root) for root in self.roots)

    def real_path(self, path: str) -> str:
        """os.path.realpath(path), remembering each directory's real path on the way.

        PHP's __FILE__ is the real path: symlinks resolved (a release's wp-config.php
        linked into shared/ has __DIR__ == shared/). os.path.realpath stats every
        component of every path; the files of a tree share their directories.
        """
        real = self._real.get(path)
        if real is None:
            head, tail = posixpath.split(path)
            if not path.startswith("/") or not tail or "/." in path:
                real = os.path.realpath(path)
            else:
                joined = posixpath.join(self.real_path(head), tail)
                entry = self.tree.entry_at(path)
                is_link = entry.is_link if entry is not None else os.path.islink(joined)
                real = os.path.realpath(joined) if is_link else joined
                if real == path:
                    real = path  # one string, not two equal ones, for each of the files
            self._real[path] = real
        return real

    def _shared(self, candidates: tuple[str, ...]) -> tuple[str, ...]:
        """One tuple for the sites with the same candidates (the files of a directory)."""
        return self._candidates.setdefault(candidates, candidates)

    def is_file(self, path: str) -> bool:
        """os.path.isfile, asked once per path (many files include the same targets)."""
        known = self._is_file.get(path)
        if known is None:
            # A file the walk stat'ed (following symlinks) needs no second stat.
            entry = self.tree.entry_at(path)
            known = (entry is not None and entry.kind == "file") or os.path.isfile(path)
            self._is_file[path] = known
        return known

    def _move(self, including_file: str, line: int, cwds: Cwds) -> Cwds | None:
        """The working directories after the chdir() calls of the file before `line`,
        starting from `cwds`; None if one of them cannot be computed."""
        for chdir_line, expr in self._chdirs.get(including_file, []):
            if chdir_line > line:
                break
            values = self.evaluator.evaluate(expr, self.real_path(including_file), keep_raw=False)
            if len(values) != 1:
                return None
            target = value_text(values[0])
            cwds = tuple(
                dict.fromkeys(posixpath.normpath(posixpath.join(base, target)) for base in cwds)
            )
        return cwds

    def _guessed_cwds(self, including_file: str, line: int) -> Cwds:
        """Without entry points: the file's directory after its own chdir() calls, else
        that directory and each parent up to the root."""
        including_dir = posixpath.dirname(including_file)
        if line and self._chdirs.get(including_file, [(line + 1, None)])[0][0] <= line:
            moved = self._move(including_file, line, (including_dir,))
            if moved:
                return moved
        return parents(including_dir, (self.tree.root, self.tree.root_real))

    def candidates_for(
        self, path: str, including_file: str, line: int = 0, cwds: Cwds | None = None
    ) -> list[str]:
        """Where PHP looks for `path` included from `including_file` (in order), with the
        working directory one of `cwds` (guessed if None)."""
        if path.startswith("file:///"):
            path = path[len("file://") :]  # the plain-file wrapper, spelt out
        if "://" in path or path.startswith(("phar:", "data:")) or "\0" in path or not path:
            return []
        if path.startswith("/"):
            return [posixpath.normpath(path)]
        including_dir = posixpath.dirname(including_file)
        real_dir = posixpath.dirname(self.real_path(including_file))
        cwd_bases = list(cwds) if cwds else self._guessed_cwds(including_file, line)
        if path.startswith(("./", "../")) or path in (".", ".."):
            bases = cwd_bases
        else:
            bases = []
            for entry in self.include_path:
                if entry == ".":
                    bases.extend(cwd_bases)
                elif os.path.isabs(entry):
                    bases.append(entry)
                else:
                    bases.extend(posixpath.join(cwd, entry) for cwd in cwd_bases)
            bases.extend([real_dir, including_dir])
        seen: set[str] = set()
        result: list[str] = []
        for base in bases:
            candidate = posixpath.normpath(posixpath.join(base, path))
            if candidate not in seen:
                seen.add(candidate)
                result.append(candidate)
        return result

    def resolve(
        self, include: RawInclude, including_file: str, rel: str, cwds: Cwds | None = None
    ) -> IncludeSite:
        if include.expr[0] == "nonstring":
            return self._site(include, including_file, rel, invalid=str(include.expr[1]))
        # Each value a local variable can hold is a separate fact that must hold (the
        # include runs with that value on some path); the several definitions of a
        # constant are not: one of them is the one in force, and one existing is enough.
        resolutions = [
            self._resolve_variant(variant, including_file, include.line, cwds)
            for variant in alternatives(include.expr)
        ]
        if any(not values for values, _, _ in resolutions):
            return self._site(include, including_file, rel)  # one value not known
        if any(not value_text(v) for values, _, _ in resolutions for v in values):
            return self._site(include, including_file, rel, invalid="an empty path")
        missing = [r for r in resolutions if r[1] and not any(self.is_file(c) for c in r[1])]
        chosen = missing[:1] or resolutions
        candidates = [c for _, found, _ in chosen for c in found]
        return self._site(
            include,
            including_file,
            rel,
            candidate_paths=self._shared(tuple(dict.fromkeys(candidates))),
            values=tuple(v for values, _, _ in chosen for v in values),
            exists=not missing and any(self.is_file(c) for c in candidates),
            runtime_include_path=any(runtime for _, _, runtime in chosen),
        )

    def _resolve_variant(
        self, expr: Expr, including_file: str, line: int, cwds: Cwds | None = None
    ) -> tuple[list[Value], list[str], bool]:
        """The values of one variant, where PHP looks for them, and whether that is known
        only by finding the file (an include_path set to something not computable)."""
        values = self.evaluator.evaluate(expr, self.real_path(including_file))
        # Several definitions of a constant: the ones pointing into the analysed tree win.
        inside = [v for v in values if self._points_inside(value_text(v))]
        values = inside or values
        candidates: list[str] = []
        runtime_include_path = False
        for value in values:
            text = value_text(value)
            if self.include_path_is_dynamic and _goes_through_include_path(text):
                runtime_include_path = True
                # The code sets include_path at run time to something we cannot evaluate:
                # a relative include is only known where it is found.
                found = [
                    c
                    for c in self.candidates_for(text, including_file, line, cwds)
                    if self.is_file(c)
                ]
                candidates.extend(c for c in found if c not in candidates)
                continue
            for candidate in self.candidates_for(text, including_file, line, cwds):
                if candidate not in candidates:
                    candidates.append(candidate)
        return values, candidates, runtime_include_path

    def _site(
        self, include: RawInclude, including_file: str, rel: str, **resolution: Any
    ) -> IncludeSite:
        return IncludeSite(file_path=including_file, include=include, rel=rel, **resolution)

    def is_optional(self, site: IncludeSite) -> bool:
        """The application loads this target only if the site provides it (knowledge).
        Judged on the path shown as missing: with several candidates (include_path, the
        working directory), one of them matching by chance does not excuse the include."""
        if not site.candidate_paths:
            return False
        shown = (site.missing_candidate(),)
        for profile, app_root in self.profiles:
            # Paths may be spelt through a link (current/) or resolved (releases/<ts>/).
            for base in {app_root, self.real_path(app_root)}:
                including = os.path.relpath(self.real_path(site.file_path), base)
                if including.startswith("../"):
                    including = os.path.relpath(site.file_path, base)
                for candidate in shown:
                    target = os.path.relpath(os.fspath(candidate), base)
                    if target.startswith("../"):
                        continue
                    for optional in profile.optional:
                        if not fnmatch.fnmatchcase(target, optional.target):
                            continue
                        if optional.unless_from and including.startswith(optional.unless_from):
                            continue
                        return True
        return False

    def sites(self, *, keep_values: bool = True) -> Iterable[IncludeSite]:
        """Every include site, relative ones judged from the entry points reaching them.

        Without `keep_values`, only a site reported missing (not guarded or suppressed)
        keeps its `values` (only its message and fix use them): a tree of a million files
        holds a site for each of its includes.
        """
        includes: list[RawInclude] = []
        first: list[IncludeSite] = []
        relative = bytearray()
        for parsed_file in self.parsed.files:
            entry = parsed_file.entry
            for include in parsed_file.facts.includes:
                site = self.resolve(include, entry.path, entry.rel)
                relative.append(site.resolved and not site.invalid and _depends_on_cwd(site))
                includes.append(include)
                first.append(site if keep_values else _lean(site))
        # The include graph is walked only if a relative include needs it (not in WordPress).
        wanted = {
            site.file_path for site, is_relative in zip(first, relative, strict=True) if is_relative
        }
        found = self._reaches(first, wanted) if wanted else {}
        for include, site, is_relative in zip(includes, first, relative, strict=True):
            reached = found.get(site.file_path)
            if reached and is_relative:
                judged = self._from_entry_points(include, site.file_path, site.rel, reached)
                yield judged if keep_values else _lean(judged)
            else:
                yield site

    def _reaches(self, sites: list[IncludeSite], wanted: set[str]) -> dict[str, list[Reach]]:
        """The entry points reaching each `wanted` file (and others on the way), and the
        working directory they give."""
        files = [f.entry.path for f in self.parsed.files]
        in_tree = set(files)
        edges: dict[str, list[tuple[int, str]]] = {}
        for site in sites:
            if not site.exists:
                continue
            target = next((c for c in site.candidate_paths if self.is_file(c)), "")
            if target in in_tree:
                edges.setdefault(site.file_path, []).append((site.line, target))
        # Every include known: a file no other includes is served (or run) directly.
        complete = all(site.resolved for site in sites)
        entries = entry_points(files, edges)
        has_chdir = in_tree.intersection(self._chdirs).__contains__
        if complete:
            useful = reaching(entries, edges, wanted)
            return reaches(useful, edges, lambda e: (posixpath.dirname(e),), self._move, has_chdir)
        # Otherwise an entry point may be a page that a file check could not follow
        # includes (`include "modules/$page.php"`): its working directory is any of its
        # directory and parents, or one of those the files holding such includes have.
        roots = (self.tree.root, self.tree.root_real)
        holders = {site.file_path for site in sites if not site.resolved}
        useful = reaching(entries, edges, wanted | holders)
        exact = reaches(useful, edges, lambda e: (posixpath.dirname(e),), self._move, has_chdir)
        others: dict[str, None] = {}
        for holder in sorted(holders):  # sorted: a set's order changes with the hash seed
            reached = exact.get(holder, [])
            if all(reach.entry == holder for reach in reached):
                # Nothing is known to include it (a class loaded by an autoloader): its
                # include may run under any entry point (a script: one that includes).
                others.update(dict.fromkeys(posixpath.dirname(e) for e in entries if e in edges))
            for reach in reached:
                others.update(dict.fromkeys(reach.cwds))
        extra = tuple(others)[:MAX_OTHER_CWDS]

        def start(entry: str) -> Cwds:
            guesses = parents(posixpath.dirname(entry), roots)
            known = set(guesses)
            return guesses + tuple(c for c in extra if c not in known)

        return reaches(useful, edges, start, self._move, has_chdir)

    def _from_entry_points(
        self, include: RawInclude, path: str, rel: str, reached: list[Reach]
    ) -> IncludeSite:
        """The site as PHP sees it from each entry point reaching its file: missing from
        the first where it is (from all of them for an include in a function, which runs
        only where the function is called), else found."""
        found: IncludeSite | None = None
        failed: IncludeSite | None = None
        for reach in reached:
            cwds = self._move(path, include.line, reach.cwds)
            if not cwds:
                continue  # a chdir() not computable: not judged from there
            site = self.resolve(include, path, rel, cwds)
            if not (site.missing and site.resolved):
                found = found or site
            elif failed is None:
                shown = "" if reach.entry == path else self._shown(reach.entry)
                failed = replace(site, entry_point=shown)
        if failed is not None and (found is None or not include.in_function):
            return failed
        return found or failed or self.resolve(include, path, rel)

    def _shown(self, path: str) -> str:
        entry = self.tree.entry_at(path)
        return entry.rel if entry is not None else path


def _lean(site: IncludeSite) -> IncludeSite:
    """The site without the values that only a reported missing include shows."""
    if not site.values or (site.missing and not site.guarded and not site.suppressed):
        return site
    return replace(site, values=())


def _depends_on_cwd(site: IncludeSite) -> bool:
    """Whether a value of the site is a relative path (found through the working directory)."""
    return any(
        not text.startswith("/") and "://" not in text
        for text in (value_text(v) for v in site.values)
    )


def _goes_through_include_path(path: str) -> bool:
    return not path.startswith(("/", "./", "../")) and "://" not in path
