"""faultbench: inject real faults into the lab and score `premortem check` and `diagnose`.

For every scenario of `premortem lab break --list`: break the lab, run `premortem check`
on the live release where the fault is static, run `premortem diagnose` against the URL,
compare with the scenario's expected answer (class, file, line), repair, and move on.
A fault of some pages only (`broken_path`: the feed, search results, one template) is
diagnosed at the URL that breaks.
Each command runs as its own process, as users run it; times are wall-clock.

Writes `faultbench.json` (the scoreboard: `scenarios[]` with `name`, `class`, `diagnosed`,
`seconds`, `checked`) and `faultbench.md` (a Markdown table) to $BENCH_OUT or
bench/results/. Usage: `make bench-faults` or
`python bench/faultbench.py [--dir DIR] [--port PORT] [--only NAME ...]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TOP1_TARGET = 0.95
SECONDS_TARGET = 10.0


@dataclass
class Score:
    name: str
    expected_class: str
    expected_where: str | None
    got_class: str | None
    got_where: str | None
    diagnosed: bool
    seconds: float
    checked: bool | None
    check_seconds: float | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["class"] = data.pop("expected_class")
        return data


def premortem(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def must(proc: subprocess.CompletedProcess[str], what: str) -> str:
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc.stdout


def where(file: str | None, line: int | None) -> str | None:
    if not file:
        return None
    return f"{file}:{line}" if line else file


def same_file(got: str | None, expected: str) -> bool:
    # Findings name files relative to the analysed root (docroot or release); the
    # scenario relative to the release. Compare by path suffix.
    return bool(got) and (got == expected or str(got).endswith("/" + expected))


def matches(finding: dict[str, Any], expected: dict[str, Any]) -> bool:
    if finding.get("rule") != expected["diagnosis"]:
        return False
    if expected.get("file") and not same_file(finding.get("file"), expected["file"]):
        return False
    return not (expected.get("line") and finding.get("line") != expected["line"])


def run_scenario(
    scenario: dict[str, Any], lab_dir: str, url: str, config: str, release: Path
) -> Score:
    expected = scenario["expected"]
    score = Score(
        name=scenario["name"],
        expected_class=expected["diagnosis"],
        expected_where=where(expected.get("file"), expected.get("line")),
        got_class=None,
        got_where=None,
        diagnosed=False,
        seconds=0.0,
        checked=None,
        check_seconds=None,
    )
    must(premortem("lab", "break", scenario["name"], "--dir", lab_dir), "lab break")
    try:
        if expected.get("static"):
            started = time.monotonic()
            proc = premortem("check", str(release), "--format", "json", "--no-cache")
            score.check_seconds = round(time.monotonic() - started, 2)
            findings = json.loads(proc.stdout).get("findings", []) if proc.stdout else []
            score.checked = any(
                f.get("severity") == "error"
                and same_file(f.get("file"), expected["file"])
                and (not expected.get("line") or f.get("line") == expected["line"])
                for f in findings
            )
        started = time.monotonic()
        # A fault of some pages only (feed, search, one template) is diagnosed at the URL
        # that breaks, as an operator told "the feed is down" would.
        broken = url.rstrip("/") + scenario.get("broken_path", "/")
        proc = premortem("diagnose", broken, "--config", config, "--format", "json")
        score.seconds = round(time.monotonic() - started, 2)
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            score.error = f"diagnose exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
            return score
        findings = json.loads(proc.stdout).get("findings", [])
        if findings:
            top = findings[0]
            score.got_class = top.get("rule")
            score.got_where = where(top.get("file"), top.get("line"))
            score.diagnosed = matches(top, expected)
        return score
    finally:
        must(premortem("lab", "repair", "--dir", lab_dir), "lab repair")


def markdown(scores: list[Score], summary: dict[str, Any]) -> str:
    lines = [
        f"faultbench ({summary['server']}): {summary['diagnosed']}/{summary['scenarios']} "
        "diagnosed top-1 "
        f"({summary['top1']:.0%}), {summary['classes']} classes, "
        f"slowest diagnosis {summary['max_seconds']:.1f} s, "
        f"static faults caught by check: {summary['checked']}/{summary['static']}",
        "",
        "| scenario | class | expected | top finding | top-1 | diagnose s | check |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        check = "-" if s.checked is None else ("yes" if s.checked else "**no**")
        got = f"{s.got_class} {s.got_where or ''}".strip() if s.got_class else (s.error or "-")
        lines.append(
            f"| {s.name} | {s.expected_class} | {s.expected_where or '-'} | {got} | "
            f"{'yes' if s.diagnosed else '**no**'} | {s.seconds:.1f} | {check} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/srv/premortem-lab-faultbench")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--server", choices=["apache", "nginx", "apache-fpm"], default="apache")
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    parser.add_argument("--keep", action="store_true", help="leave the lab running at the end")
    args = parser.parse_args()
    out_dir = Path(os.environ.get("BENCH_OUT") or Path(__file__).parent / "results")
    out_dir.mkdir(parents=True, exist_ok=True)

    print(f"lab up in {args.dir} on port {args.port} ...", file=sys.stderr)
    up = ["lab", "up", "--dir", args.dir, "--port", str(args.port), "--server", args.server]
    try:
        must(premortem(*up, timeout=600), "lab up")
        return run_all(args, out_dir)
    finally:
        if not args.keep:
            # A benchmark stops every server it started.
            premortem("lab", "down", "--dir", args.dir)
            print(f"lab in {args.dir} stopped", file=sys.stderr)


def run_all(args: argparse.Namespace, out_dir: Path) -> int:
    must(premortem("lab", "repair", "--dir", args.dir), "lab repair")
    status_out = must(premortem("lab", "status", "--dir", args.dir, "--format", "json"), "status")
    status = json.loads(status_out)
    url, config = status["url"], status["config"]
    release = Path(status["docroot"]).resolve()
    scenarios = json.loads(
        must(premortem("lab", "break", "--list", "--format", "json", "--dir", args.dir), "list")
    )
    if args.only:
        scenarios = [s for s in scenarios if s["name"] in args.only]

    scores: list[Score] = []
    for index, scenario in enumerate(scenarios, 1):
        print(f"[{index}/{len(scenarios)}] {scenario['name']} ...", file=sys.stderr, end=" ")
        score = run_scenario(scenario, args.dir, url, config, release)
        scores.append(score)
        verdict = "ok" if score.diagnosed else f"MISSED (got {score.got_class} {score.got_where})"
        print(f"{verdict} in {score.seconds:.1f} s", file=sys.stderr)

    static = [s for s in scores if s.checked is not None]
    summary = {
        "scenarios": len(scores),
        "classes": len({s.expected_class for s in scores}),
        "diagnosed": sum(s.diagnosed for s in scores),
        "top1": sum(s.diagnosed for s in scores) / max(1, len(scores)),
        "max_seconds": max((s.seconds for s in scores), default=0.0),
        "median_seconds": sorted(s.seconds for s in scores)[len(scores) // 2] if scores else 0,
        "static": len(static),
        "checked": sum(bool(s.checked) for s in static),
        "targets": {"top1": TOP1_TARGET, "seconds": SECONDS_TARGET},
    }
    board = {"summary": summary, "scenarios": [s.to_dict() for s in scores]}
    suffix = "" if args.server == "apache" else f"-{args.server}"
    summary["server"] = args.server
    (out_dir / f"faultbench{suffix}.json").write_text(json.dumps(board, indent=2) + "\n")
    table = markdown(scores, summary)
    (out_dir / f"faultbench{suffix}.md").write_text(table)
    print(table)
    print(f"scoreboard: {out_dir / f'faultbench{suffix}.json'}", file=sys.stderr)
    met = summary["top1"] >= TOP1_TARGET and summary["max_seconds"] <= SECONDS_TARGET
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
