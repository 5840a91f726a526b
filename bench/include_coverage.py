"""Share of include statements `check` can report on, per real application; and seeded
mutants in the applications that set their include_path at run time (#18).

An include is *checkable* when its target is known statically, so that a missing file
would be reported: resolved, and not found only by looking (an include_path the code sets
to something check cannot compute). Prints one line per application and the total.

`--mutants`: in a copy of each application that calls set_include_path()/ini_set() (Roundcube,
NagVis, Tiny Tiny RSS, Cacti, Zabbix, MediaWiki, LDAP Account Manager), the includes of its
bootstrap files (those that set include_path) and the includes found through include_path
are broken one at a time (extension typo, one-character name typo, wrong case, deleted
target, as bench/bench_check.py does); prints the recall at the right file:line (bar: 95 %)
and how many did-you-means are right or absent (bar: all). Exits 1 if a bar is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

from premortem.php import resolve_includes
from premortem.php.includes import IncludeSite
from premortem.php.parsing import parse_tree
from premortem.php.walk import walk_tree

sys.path.insert(0, str(Path(__file__).parent))
import bench_check as bench  # the same mutation operators as the main benchmark

APPS = ("wordpress", "dokuwiki", "mediawiki", "phpmyadmin", "roundcube", "adminer", "cacti")
# Debian's applications whose code sets include_path at run time (and their directory).
RUNTIME_INCLUDE_PATH_APPS = (
    "roundcube",
    "nagvis",
    "tt-rss",
    "cacti",
    "zabbix",
    "mediawiki",
    "ldap-account-manager",
)
MUTANTS_PER_KIND = 10
RECALL_BAR = 0.95


def coverage(root: Path) -> tuple[int, int]:
    sites = list(resolve_includes(root, use_cache=False))
    checkable = sum(1 for s in sites if s.resolved and not s.runtime_include_path)
    return checkable, len(sites)


def _line(name: str, checkable: int, count: int) -> None:
    print(f"{name:22} {checkable:5}/{count:<5} {100 * checkable / max(count, 1):5.1f} %")


def _through_include_path(site: IncludeSite) -> bool:
    texts = ("".join(text for text, _ in value) for value in site.values)
    return any(not t.startswith(("/", "./", "../")) and "://" not in t for t in texts)


def _bootstrap_sites(copy: Path) -> list[IncludeSite]:
    """The includes of the files that set include_path, and those found through it."""
    parsed = parse_tree(walk_tree(os.fspath(copy)), use_cache=False)
    bootstrap = {f.entry.rel for f in parsed.files if f.facts.include_paths}
    return [
        s
        for s in resolve_includes(copy, use_cache=False)
        if s.rel in bootstrap or _through_include_path(s)
    ]


def mutants(seed: int) -> int:
    rng = random.Random(seed)
    results: list[bench.Mutant] = []
    with tempfile.TemporaryDirectory(prefix="premortem-bench-inc-") as tmp:
        work = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")
        for app in RUNTIME_INCLUDE_PATH_APPS:
            source = Path("/usr/share") / app
            if not source.is_dir():
                print(f"{app:22} not installed, skipped")
                continue
            copy = work / app
            bench.copy_app(source, copy)
            candidates = [
                s
                for s in _bootstrap_sites(copy)
                if s.exists
                and not s.guarded
                and len(bench.existing_candidates(s)) == 1
                and str(bench.existing_candidates(s)[0]).startswith(str(copy) + "/")
            ]
            rng.shuffle(candidates)
            made = _mutate_app(app, copy, candidates, rng)
            results.extend(made)
            found = sum(1 for m in made if m.detected)
            print(
                f"{app:22} {found:3}/{len(made):<3} mutants reported ({len(candidates)} includes)"
            )
    return _summary(results)


def _mutate_app(
    app: str, copy: Path, candidates: list[IncludeSite], rng: random.Random
) -> list[bench.Mutant]:
    taken = dict.fromkeys(bench.KINDS, 0)
    made: list[bench.Mutant] = []
    for site in candidates:
        kind = min(taken, key=lambda k: (taken[k], rng.random()))
        if taken[kind] >= MUTANTS_PER_KIND:
            break
        mutant = bench.run_mutant(app, copy, site, kind, rng)
        if mutant is not None:
            taken[kind] += 1
            made.append(mutant)
    return made


def _summary(results: list[bench.Mutant]) -> int:
    total = len(results)
    detected = sum(1 for m in results if m.detected)
    named = [m for m in results if getattr(m, "details", {}).get("suggestion")]
    wrong = [m for m in named if not m.suggestion_ok]
    recall = detected / total if total else 0.0
    print(f"recall at the right file:line: {detected}/{total} = {100 * recall:.1f} % (bar 95 %)")
    print(
        f"did-you-mean: {len(named) - len(wrong)} right, {len(wrong)} wrong,"
        f" {total - len(named)} absent (bar: none wrong)"
    )
    for m in results:
        if not m.detected:
            print("  missed:", m.details)
    for m in wrong:
        print("  wrong suggestion:", m.details)
    return 0 if total and recall >= RECALL_BAR and not wrong else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apps", nargs="*", help="directories under /usr/share")
    parser.add_argument("--mutants", action="store_true", help="run the mutant benchmark")
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    if args.mutants:
        return mutants(args.seed)
    total_checkable = total = 0
    for app in args.apps or APPS + RUNTIME_INCLUDE_PATH_APPS[1:3]:
        root = Path("/usr/share") / app
        if not root.is_dir():
            continue
        checkable, count = coverage(root)
        total_checkable += checkable
        total += count
        _line(app, checkable, count)
    _line("all", total_checkable, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
