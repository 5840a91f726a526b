"""Benchmark `premortem check` against its quality bars (`make bench-check`).

1. Installs the seven PHP applications Debian ships (wordpress, dokuwiki, mediawiki,
   phpmyadmin, roundcube, adminer, cacti) with ensure_packages (their database questions
   answered "no": only the code under /usr/share/<app> is needed), timing the install.
2. The seed: a copy of /usr/share/wordpress with `class-wp-locale.phpp` on wp-settings.php
   line 156 must give exactly that one error, its suggestion and its edit.
3. No false errors: each application is checked; errors and warnings are listed.
4. Mutation benchmark: in a copy of each application, include targets that check resolves
   to an existing file are broken one at a time (extension typo, one-character name typo,
   case change, deleted target); recall (the mutant's line is reported) and did-you-mean
   accuracy (the suggestion is the original file) are printed.
5. Speed beside `php -l` in the same run: WordPress core cold (--no-cache, new process:
   the median of five, wall and CPU) and re-run (cache), MediaWiki cold, against `php -l`
   over the same WordPress files with two processes; the ratio.
6. Peak memory (the whole process tree) on MediaWiki, cold.

Prints a table, writes bench/results/check.json and check.md; exits 1 if a bar is missed.
`--speed-only` runs 1, 5 and 6 (and checks only their bars): the quick re-measure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from premortem.check.context import CheckOptions
from premortem.check.runner import run_check
from premortem.ops.packages import ensure_packages, missing_packages
from premortem.php import resolve_includes
from premortem.php.includes import IncludeSite
from premortem.php.walk import walk_tree
from premortem.rules.missing_include import MissingInclude

APPS = ("wordpress", "dokuwiki", "mediawiki", "phpmyadmin", "roundcube", "adminer", "cacti")
PACKAGES = ("wordpress", "dokuwiki", "mediawiki", "phpmyadmin", "roundcube", "adminer", "cacti")
# A wider set, checked for false errors only (#18): package -> directory under /usr/share.
WIDER_APPS = {
    "phpldapadmin": "phpldapadmin",
    "simplesamlphp": "simplesamlphp",
    "zabbix-frontend-php": "zabbix",
    "ldap-account-manager": "ldap-account-manager",
    "nagvis": "nagvis",
    "tt-rss": "tt-rss",
}
# Answer the packages' database questions "no" (dbconfig-common); nothing here needs a DB.
DEBCONF = (
    "phpmyadmin phpmyadmin/dbconfig-install boolean false",
    "phpmyadmin phpmyadmin/reconfigure-webserver multiselect",
    "roundcube-core roundcube/dbconfig-install boolean false",
    "cacti cacti/dbconfig-install boolean false",
    "cacti cacti/webserver select None",
    "tt-rss tt-rss/dbconfig-install boolean false",
)
# Errors reviewed by hand and confirmed to be real defects of the packaged code (not false
# positives): listed, counted apart, and shown in the report with the reason.
REVIEWED_TRUE_ERRORS: dict[tuple[str, str, int], str] = {
    ("cacti", "cli/convert_tables.php", 96): (
        "upstream bug: require_once(__DIR__ . '../install/functions.php') lacks a '/'"
        " (opens /usr/share/cacti/cli../install/functions.php); fatal with --installer"
    ),
    **{
        ("tt-rss", "www/vendor/OTPHP/OTPHP.php", line): (
            "upstream leftover: OTPHP.php requires ../vendor/libs.php and otp.php/hotp.php/"
            "totp.php, shipped as OTP.php/HOTP.php/TOTP.php (nothing loads OTPHP.php: the"
            " classes are autoloaded one by one); fatal if it is ever loaded"
        )
        for line in (23, 24, 25, 26)
    },
    (
        "nagvis",
        "share/frontend/nagvis-js/ext/dwoo-1.1.0/Dwoo/Adapters/CodeIgniter/libraries/"
        "Dwootemplate.php",
        3,
    ): (
        "vendored leftover: Dwoo's CodeIgniter adapter requires dwoo/dwooAutoload.php beside"
        " it, which NagVis does not ship (nothing in NagVis loads the adapter)"
    ),
}
MUTANTS_PER_KIND = 12
KINDS = ("extension", "name-typo", "case", "deleted")
SEED_LINE = 156
RESULTS = Path(__file__).parent / "results"

BARS = {
    "recall": 0.99,
    "did_you_mean": 0.95,
    "cold_seconds": 0.6,
    "rerun_seconds": 0.1,
    "speedup_vs_php_l": 30.0,
    "mediawiki_cold_seconds": 1.2,
    "mediawiki_peak_mb": 300.0,
}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def premortem(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


# -- 1. packages ----------------------------------------------------------------------------


def install_apps() -> dict[str, Any]:
    missing = missing_packages(PACKAGES)
    started = time.monotonic()
    if missing:
        say(f"installing {' '.join(missing)} ...")
        subprocess.run(
            ["debconf-set-selections"], input="\n".join(DEBCONF) + "\n", text=True, check=True
        )
        ensure_packages(PACKAGES)
    if missing_packages(tuple(WIDER_APPS)):
        subprocess.run(
            ["debconf-set-selections"], input="\n".join(DEBCONF) + "\n", text=True, check=True
        )
        ensure_packages(tuple(WIDER_APPS))
    sizes = {}
    for app in APPS:
        proc = subprocess.run(
            ["du", "-sm", f"/usr/share/{app}"], capture_output=True, text=True, check=False
        )
        sizes[app] = int(proc.stdout.split()[0]) if proc.returncode == 0 else None
    return {
        "installed_now": missing,
        "install_seconds": round(time.monotonic() - started, 1),
        "size_mb": sizes,
    }


# -- copies that keep working -------------------------------------------------------------


def copy_app(source: Path, dest: Path) -> None:
    """Copy an application, keeping its symlinks; relative links that would leave the copy
    are re-pointed, absolute, at what they resolved to in the original."""
    shutil.copytree(source, dest, symlinks=True)
    for directory, dirnames, filenames in os.walk(dest):
        for name in dirnames + filenames:
            path = Path(directory) / name
            if not path.is_symlink():
                continue
            target = os.readlink(path)
            if os.path.isabs(target):
                continue
            original = source / path.relative_to(dest)
            resolved = os.path.realpath(original)
            inside = os.path.realpath(path.parent / target)
            if not inside.startswith(str(dest) + "/"):
                path.unlink()
                os.symlink(resolved, path)


# -- 2. seed --------------------------------------------------------------------------------


def seed_case(work: Path) -> dict[str, Any]:
    release = work / "seed"
    shutil.copytree("/usr/share/wordpress", release)
    settings = release / "wp-settings.php"
    lines = settings.read_text().splitlines(keepends=True)
    lines[SEED_LINE - 1] = lines[SEED_LINE - 1].replace(
        "class-wp-locale.php'", "class-wp-locale.phpp'"
    )
    settings.write_text("".join(lines))
    proc = premortem("check", str(release), "--format", "json", "--no-cache")
    document = json.loads(proc.stdout)
    errors = [f for f in document["findings"] if f["severity"] == "error"]
    ok = (
        proc.returncode == 1
        and len(errors) == 1
        and errors[0]["file"] == "wp-settings.php"
        and errors[0]["line"] == SEED_LINE
        and errors[0]["suggestion"] == "wp-includes/class-wp-locale.php"
        and errors[0]["fix"]["edits"][0]["new"] == "'/class-wp-locale.php'"
    )
    return {"ok": ok, "exit": proc.returncode, "errors": errors}


# -- 3. no false errors ---------------------------------------------------------------------


def app_findings() -> dict[str, Any]:
    report: dict[str, Any] = {}
    for app in APPS + tuple(WIDER_APPS.values()):
        started = time.monotonic()
        result = run_check(Path("/usr/share") / app, CheckOptions(use_cache=False))
        seconds = time.monotonic() - started
        by_severity: dict[str, list[str]] = {"error": [], "warning": [], "reviewed": []}
        for f in result.findings:
            reason = REVIEWED_TRUE_ERRORS.get((app, f.file or "", f.line or 0))
            if f.severity == "error" and reason is not None:
                by_severity["reviewed"].append(f"{f.file}:{f.line} [{f.rule}] {reason}")
            elif f.severity in by_severity:
                where = f"{f.file}:{f.line}" if f.line else f"{f.file}"
                by_severity[f.severity].append(f"{where} [{f.rule}] {f.message}")
        report[app] = {
            "errors": by_severity["error"],
            "reviewed_true_errors": by_severity["reviewed"],
            "warnings": by_severity["warning"],
            "info": sum(1 for f in result.findings if f.severity == "info"),
            "php_files": result.stats["php_files"],
            "includes": result.stats["includes"],
            "resolved": result.stats["includes_resolved"],
            "unresolved": result.stats["includes_unresolved"],
            "seconds": round(seconds, 2),
        }
        say(f"  {app}: {len(by_severity['error'])} errors, {len(by_severity['warning'])} warnings")
    return report


# -- 4. mutations ---------------------------------------------------------------------------


@dataclass
class Mutant:
    app: str
    kind: str
    site: IncludeSite
    target: Path
    detected: bool = False
    suggestion_ok: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _literal_with_name(site: IncludeSite, name: str) -> str | None:
    for value in site.values:
        for _text, raw in value:
            if raw is not None and name in raw and site.source_line.count(raw) == 1:
                return raw
    return None


def _mutate_name(name: str, kind: str, rng: random.Random) -> str | None:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return None
    if kind == "extension":
        return f"{stem}.{rng.choice(['phpp', 'ph', 'pgp', 'phtml~'])}" if ext == "php" else None
    if kind == "case":
        index = next((i for i, c in enumerate(stem) if c.isalpha()), None)
        if index is None:
            return None
        flipped = stem[index].swapcase()
        return f"{stem[:index]}{flipped}{stem[index + 1 :]}.{ext}"
    if kind == "name-typo" and len(stem) >= 4:
        i = rng.randrange(1, len(stem) - 1)
        operation = rng.choice(["drop", "swap", "double"])
        if operation == "drop":
            typo = stem[:i] + stem[i + 1 :]
        elif operation == "swap" and stem[i] != stem[i + 1 if i + 1 < len(stem) else i - 1]:
            j = i + 1 if i + 1 < len(stem) else i - 1
            a, b = sorted((i, j))
            typo = stem[:a] + stem[b] + stem[a] + stem[b + 1 :]
        else:
            typo = stem[:i] + stem[i] + stem[i:]
        return f"{typo}.{ext}"
    return None


def mutation_benchmark(work: Path, rng: random.Random) -> dict[str, Any]:
    mutants: list[Mutant] = []
    for app in APPS:
        copy = work / f"mut-{app}"
        copy_app(Path("/usr/share") / app, copy)
        env_cache = str(work / "cache")
        os.environ["XDG_CACHE_HOME"] = env_cache
        baseline = run_check(copy, CheckOptions(), rules=[MissingInclude])
        known = {(f.file, f.line) for f in baseline.findings}
        sites = [
            s
            for s in resolve_includes(copy)
            if s.exists
            and not s.guarded
            and not s.runtime_include_path
            and (s.rel, s.line) not in known
            and len(existing_candidates(s)) == 1
            and str(existing_candidates(s)[0]).startswith(str(copy) + "/")
        ]
        rng.shuffle(sites)
        taken: dict[str, int] = {kind: 0 for kind in KINDS}
        used_lines: set[tuple[str, int]] = set()
        for site in sites:
            if all(n >= MUTANTS_PER_KIND for n in taken.values()):
                break
            if (site.rel, site.line) in used_lines:
                continue
            kind = min(KINDS, key=lambda k: (taken[k], rng.random()))
            if taken[kind] >= MUTANTS_PER_KIND:
                continue
            mutant = run_mutant(app, copy, site, kind, rng)
            if mutant is None:
                continue
            taken[kind] += 1
            used_lines.add((site.rel, site.line))
            mutants.append(mutant)
        say(f"  {app}: {sum(taken.values())} mutants ({len(sites)} candidate includes)")
    total = len(mutants)
    detected = sum(1 for m in mutants if m.detected)
    with_dym = [m for m in mutants if m.suggestion_ok is not None]
    dym_ok = sum(1 for m in with_dym if m.suggestion_ok)
    per_kind = {
        kind: {
            "mutants": sum(1 for m in mutants if m.kind == kind),
            "detected": sum(1 for m in mutants if m.kind == kind and m.detected),
        }
        for kind in KINDS
    }
    return {
        "mutants": total,
        "detected": detected,
        "recall": round(detected / total, 4) if total else 0.0,
        "did_you_mean_cases": len(with_dym),
        "did_you_mean_correct": dym_ok,
        "did_you_mean": round(dym_ok / len(with_dym), 4) if with_dym else 0.0,
        "per_kind": per_kind,
        "per_app": {app: sum(1 for m in mutants if m.app == app) for app in APPS},
        "misses": [m.details for m in mutants if not m.detected][:20],
        "wrong_suggestions": [m.details for m in with_dym if not m.suggestion_ok][:20],
    }


def existing_candidates(site: IncludeSite) -> list[Path]:
    return [c for c in site.candidates if c.is_file()]


def run_mutant(
    app: str, copy: Path, site: IncludeSite, kind: str, rng: random.Random
) -> Mutant | None:
    target = existing_candidates(site)[0]
    source_file = site.file
    original_source = source_file.read_bytes()
    details: dict[str, Any] = {"app": app, "kind": kind, "file": site.rel, "line": site.line}
    if kind == "deleted":
        if target == source_file:
            return None
        saved = target.read_bytes()
        target.unlink()
        try:
            findings = run_check(copy, CheckOptions(), rules=[MissingInclude]).findings
        finally:
            target.write_bytes(saved)
        hit = [f for f in findings if (f.file, f.line) == (site.rel, site.line)]
        details["expression"] = site.expression
        return Mutant(app, kind, site, target, detected=bool(hit), details=details)
    new_name = _mutate_name(target.name, kind, rng)
    if new_name is None or new_name == target.name:
        return None
    if (target.parent / new_name).exists() or any(
        p.name.lower() == new_name.lower() and p.name != target.name
        for p in target.parent.iterdir()
    ):
        return None  # the mutant would name another existing file
    literal = _literal_with_name(site, target.name)
    if literal is None:
        return None  # the name is not written in this line's literals (built elsewhere)
    lines = original_source.decode("utf-8", "surrogateescape").split("\n")
    line = lines[site.line - 1]
    if line.count(literal) != 1:
        return None
    lines[site.line - 1] = line.replace(literal, literal.replace(target.name, new_name))
    source_file.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape"))
    try:
        findings = run_check(copy, CheckOptions(), rules=[MissingInclude]).findings
    finally:
        source_file.write_bytes(original_source)
    hit = [f for f in findings if (f.file, f.line) == (site.rel, site.line)]
    expected = os.path.relpath(target, copy)
    got = hit[0].suggestion if hit else None
    details.update({"mutated": f"{target.name} -> {new_name}", "suggestion": got})
    return Mutant(
        app,
        kind,
        site,
        target,
        detected=bool(hit),
        suggestion_ok=(got == expected) if hit else False,
        details=details,
    )


# -- 5. speed -------------------------------------------------------------------------------


CPU_SECONDS: list[float] = []


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of one run; its CPU seconds (process tree) go to CPU_SECONDS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def speed(work: Path) -> dict[str, Any]:
    root = Path("/usr/share/wordpress")
    php_files = [e.path for e in walk_tree(str(root)).php_files()]
    # As after `pip install`: bytecode cached (an environment with PYTHONDONTWRITEBYTECODE
    # would recompile every module at each start); one warm-up run writes it.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CACHE_HOME"] = str(work / "speed-cache")
    check = [sys.executable, "-m", "premortem", "check", str(root), "--format", "json"]
    timed([*check, "--no-cache"], env)
    cold = []
    cold_cpu = []
    for _ in range(5):  # the median of five: the machine may be shared
        cold.append(timed([*check, "--no-cache"], env))
        cold_cpu.append(CPU_SECONDS[-1])
    timed(check, env)  # fills the cache
    rerun = [timed(check, env) for _ in range(5)]
    rerun_cpu = CPU_SECONDS[-5:]
    mediawiki = [sys.executable, "-m", "premortem", "check", "/usr/share/mediawiki"]
    mediawiki += ["--format", "json", "--no-cache"]
    timed(mediawiki, env)
    mw_cold = []
    mw_cpu = []
    for _ in range(5):
        mw_cold.append(timed(mediawiki, env))
        mw_cpu.append(CPU_SECONDS[-1])
    listing = work / "php-files.txt"
    listing.write_text("\0".join(php_files))
    php_l = timed(["sh", "-c", f"xargs -0 -n1 -P2 php -l < {listing} > /dev/null 2>&1"])
    php_l_cpu = CPU_SECONDS[-1]
    in_process = []
    for _ in range(3):
        started = time.perf_counter()
        run_check(root, CheckOptions(use_cache=True))
        in_process.append(time.perf_counter() - started)
    cold_median = statistics.median(cold)
    return {
        "files": len(php_files),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cold_seconds": round(cold_median, 3),
        "cold_runs": [round(x, 3) for x in cold],
        "rerun_seconds": round(statistics.median(rerun), 3),
        "rerun_runs": [round(x, 3) for x in rerun],
        "rerun_cpu_seconds": round(statistics.median(rerun_cpu), 3),
        "mediawiki_cold_seconds": round(statistics.median(mw_cold), 3),
        "mediawiki_cold_runs": [round(x, 3) for x in mw_cold],
        "mediawiki_cold_cpu_seconds": round(statistics.median(mw_cpu), 3),
        "rerun_in_process_seconds": round(statistics.median(in_process), 3),
        # Python and the CLI's own imports (`--help` would import every subcommand).
        "cli_startup_seconds": round(
            statistics.median(
                timed([sys.executable, "-m", "premortem", "--version"], env) for _ in range(3)
            ),
            3,
        ),
        "php_l_P2_seconds": round(php_l, 3),
        # CPU seconds (user + system, all processes): what the load of the machine does
        # not change; on 2 idle cores the wall time is about max(CPU / 2, the serial part).
        "cold_cpu_seconds": round(statistics.median(cold_cpu), 3),
        "php_l_cpu_seconds": round(php_l_cpu, 3),
        "speedup_vs_php_l": round(php_l / cold_median, 1),
    }


# -- 6. memory ------------------------------------------------------------------------------


def peak_memory_mb(root: Path, work: Path) -> dict[str, Any]:
    env = {**os.environ, "XDG_CACHE_HOME": str(work / "mem-cache")}
    proc = psutil.Popen(
        [sys.executable, "-m", "premortem", "check", str(root), "--format", "json", "--no-cache"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    # PSS (proportional set size) counts the pages the forked workers share with the
    # parent once; the RSS sum counts them in every process (printed too).
    peak_pss = peak_rss = 0
    started = time.perf_counter()
    while proc.poll() is None:
        pss = rss = 0
        for member in [proc, *_children(proc)]:
            try:
                info = member.memory_full_info()
            except psutil.Error:
                continue
            pss += info.pss
            rss += info.rss
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(0.02)
    return {
        "peak_mb": round(peak_pss / 1e6, 1),
        "peak_rss_sum_mb": round(peak_rss / 1e6, 1),
        "seconds": round(time.perf_counter() - started, 2),
        "exit": proc.returncode,
    }


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261029, help="mutant sampling seed")
    parser.add_argument(
        "--speed-only", action="store_true", help="only the speed and memory parts (5, 6)"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="premortem-bench-check-") as tmp:
        work = Path(tmp)
        say("1/6 packages")
        results["packages"] = install_apps()
        if not args.speed_only:
            say("2/6 seed")
            results["seed"] = seed_case(work)
            say("3/6 applications (no false errors)")
            results["apps"] = app_findings()
            say("4/6 mutation benchmark")
            results["mutation"] = mutation_benchmark(work, rng)
        say("5/6 speed beside php -l")
        results["speed"] = speed(work)
        say("6/6 peak memory on MediaWiki")
        results["memory"] = peak_memory_mb(Path("/usr/share/mediawiki"), work)

    bars = speed_bars(results)
    if not args.speed_only:
        bars = {**finding_bars(results), **bars}
    results["bars"] = bars
    name = "check-speed" if args.speed_only else "check"
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    (RESULTS / f"{name}.md").write_text(report)
    print(report)
    return 0 if all(bars.values()) else 1


def finding_bars(results: dict[str, Any]) -> dict[str, bool]:
    app_errors = {app: len(r["errors"]) for app, r in results["apps"].items()}
    return {
        "seed exact": results["seed"]["ok"],
        f"zero false errors on the {len(results['apps'])} apps": all(
            n == 0 for n in app_errors.values()
        ),
        ">= 200 mutants": results["mutation"]["mutants"] >= 200,
        f"recall >= {BARS['recall']:.0%}": results["mutation"]["recall"] >= BARS["recall"],
        f"did-you-mean >= {BARS['did_you_mean']:.0%}": results["mutation"]["did_you_mean"]
        >= BARS["did_you_mean"],
    }


def speed_bars(results: dict[str, Any]) -> dict[str, bool]:
    s = results["speed"]
    return {
        f"WordPress cold <= {BARS['cold_seconds']} s": s["cold_seconds"] <= BARS["cold_seconds"],
        f"re-run <= {BARS['rerun_seconds']} s": s["rerun_seconds"] <= BARS["rerun_seconds"],
        f">= {BARS['speedup_vs_php_l']:.0f}x php -l -P2": s["speedup_vs_php_l"]
        >= BARS["speedup_vs_php_l"],
        f"MediaWiki cold <= {BARS['mediawiki_cold_seconds']} s": s["mediawiki_cold_seconds"]
        <= BARS["mediawiki_cold_seconds"],
        f"MediaWiki peak <= {BARS['mediawiki_peak_mb']:.0f} MB": results["memory"]["peak_mb"]
        <= BARS["mediawiki_peak_mb"],
    }


def markdown(results: dict[str, Any]) -> str:
    out = ["# premortem check: benchmark", ""]
    out.append("| bar | result | |")
    out.append("|---|---|---|")
    values = finding_values(results) if "mutation" in results else {}
    values.update(speed_values(results))
    for bar, ok in results["bars"].items():
        out.append(f"| {bar} | {values.get(bar, '')} | {'PASS' if ok else 'FAIL'} |")
    s = results["speed"]
    out += [
        "",
        f"Machine: {s['cpus']} CPUs, load average {s['load_average']} during the speed runs.",
        "",
    ]
    if "mutation" in results:
        out += finding_details(results)
    return "\n".join(out)


def speed_values(results: dict[str, Any]) -> dict[str, str]:
    s, mem = results["speed"], results["memory"]
    values: dict[str, str] = {}
    for bar in speed_bars(results):
        if bar.startswith("WordPress cold"):
            values[bar] = (
                f"{s['cold_seconds']} s wall (runs {s['cold_runs']}); {s['cold_cpu_seconds']} s CPU"
            )
        elif bar.startswith("re-run"):
            values[bar] = (
                f"{s['rerun_seconds']} s CLI (runs {s['rerun_runs']}; {s['rerun_cpu_seconds']} s"
                f" CPU; of which {s['cli_startup_seconds']} s CLI start-up);"
                f" {s['rerun_in_process_seconds']} s in process"
            )
        elif "php -l" in bar:
            values[bar] = (
                f"{s['speedup_vs_php_l']}x (php -l -P2: {s['php_l_P2_seconds']} s wall,"
                f" {s['php_l_cpu_seconds']} s CPU)"
            )
        elif bar.startswith("MediaWiki cold"):
            values[bar] = (
                f"{s['mediawiki_cold_seconds']} s wall (runs {s['mediawiki_cold_runs']});"
                f" {s['mediawiki_cold_cpu_seconds']} s CPU"
            )
        elif bar.startswith("MediaWiki peak"):
            values[bar] = (
                f"{mem['peak_mb']} MB PSS of the process tree (RSS sum"
                f" {mem['peak_rss_sum_mb']} MB; {mem['seconds']} s)"
            )
    return values


def finding_values(results: dict[str, Any]) -> dict[str, str]:
    m = results["mutation"]
    values = {
        "seed exact": f"exit {results['seed']['exit']}, {len(results['seed']['errors'])} error",
        f"zero false errors on the {len(results['apps'])} apps": ", ".join(
            f"{app} {len(r['errors'])}" for app, r in results["apps"].items()
        )
        + " (+ reviewed true errors: "
        + ", ".join(
            f"{app} {len(r['reviewed_true_errors'])}"
            for app, r in results["apps"].items()
            if r["reviewed_true_errors"]
        )
        + ")",
        ">= 200 mutants": str(m["mutants"]),
    }
    for bar in finding_bars(results):
        if bar.startswith("recall"):
            values[bar] = f"{m['recall']:.2%} ({m['detected']}/{m['mutants']})"
        elif bar.startswith("did-you-mean"):
            values[bar] = (
                f"{m['did_you_mean']:.2%} ({m['did_you_mean_correct']}/{m['did_you_mean_cases']})"
            )
    return values


def finding_details(results: dict[str, Any]) -> list[str]:
    m = results["mutation"]
    out = ["## Mutants", "", "| kind | mutants | detected |", "|---|---|---|"]
    for kind, counts in m["per_kind"].items():
        out.append(f"| {kind} | {counts['mutants']} | {counts['detected']} |")
    out += ["", "Per application: " + ", ".join(f"{a} {n}" for a, n in m["per_app"].items()), ""]
    if m["misses"]:
        out += ["Missed:", ""] + [f"- `{json.dumps(x)}`" for x in m["misses"]] + [""]
    if m["wrong_suggestions"]:
        out += ["Wrong or missing suggestion:", ""]
        out += [f"- `{json.dumps(x)}`" for x in m["wrong_suggestions"]] + [""]
    out += [
        "## Applications",
        "",
        "| app | PHP files | includes (resolved / unresolved) | errors | warnings | info | s |",
    ]
    out.append("|---|---|---|---|---|---|---|")
    for app, r in results["apps"].items():
        out.append(
            f"| {app} | {r['php_files']} | {r['includes']} ({r['resolved']} / {r['unresolved']})"
            f" | {len(r['errors'])} | {len(r['warnings'])} | {r['info']} | {r['seconds']} |"
        )
    out.append("")
    for app, r in results["apps"].items():
        for kind, label in (
            ("errors", "error"),
            ("reviewed_true_errors", "reviewed true error"),
            ("warnings", "warning"),
        ):
            for line in r[kind]:
                out.append(f"- {app} {label}: {line}")
    out.append("")
    return out


if __name__ == "__main__":
    sys.exit(main())
