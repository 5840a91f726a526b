"""Benchmark `premortem diagnose` on the seed incident in a real lab (`make bench-diagnose`).

1. Brings up a throwaway lab (Apache + mod_php, MariaDB, WordPress) on a free port under
   /tmp and injects the seed (`wp-settings.php` line 156 requires `class-wp-locale.phpp`,
   PHP logging off).
2. Times one plain HTTP request of the same URL: the physical floor.
3. Runs `premortem diagnose URL --config ... --format json` RUNS times (the first one with
   a cold include-resolver cache) and checks each top finding (missing-file,
   wp-settings.php:156, fix .phpp -> .php). Bar: median wall time <= 5 s.
4. Measures what tracing costs other clients: a background client requests a static file
   and a PHP page continuously, with nothing else running, then for 4 s with strace attached
   to the master and every worker (the cost of tracing itself), then during the diagnoses
   (tracing plus the diagnosis's own CPU use); prints median and p95 of each phase.

Prints a table and writes bench/results/diagnose.json; exits 1 if a bar is missed.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from premortem.collectors.server import collect_server
from premortem.collectors.trace import trace_while
from premortem.host import LocalHost
from premortem.ops.lab import Lab
from premortem.ops.lab.procs import free_port

RUNS = 5
BAR_SECONDS = 5.0
BACKGROUND_PATHS = ("/readme.html", "/wp-login.php")
RESULTS = Path(__file__).parent / "results" / "diagnose.json"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def diagnose_once(lab: Lab) -> tuple[float, dict[str, object]]:
    url = lab.site_config().url
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "premortem",
            "diagnose",
            url,
            "--config",
            str(lab.config_path),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    elapsed = time.monotonic() - start
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"diagnose failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    data: dict[str, object] = json.loads(proc.stdout)
    return elapsed, data


def correct(data: dict[str, object]) -> bool:
    findings = data.get("findings")
    if not isinstance(findings, list) or not findings:
        return False
    top = findings[0]
    edits = (top.get("fix") or {}).get("edits") or []
    return (
        top.get("rule") == "missing-file"
        and top.get("file") == "wp-settings.php"
        and top.get("line") == 156
        and bool(edits)
        and ".phpp" in edits[0]["old"]
        and ".phpp" not in edits[0]["new"]
    )


class BackgroundClient:
    """Requests the given paths in a loop from its own thread, recording each latency."""

    def __init__(self, base: str, paths: tuple[str, ...]) -> None:
        self.base, self.paths = base.rstrip("/"), paths
        self.samples: dict[str, list[float]] = {p: [] for p in paths}
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                for path in self.paths:
                    start = time.monotonic()
                    try:
                        client.get(self.base + path)
                    except httpx.HTTPError:
                        self.errors += 1
                        continue
                    self.samples[path].append(time.monotonic() - start)
                time.sleep(0.02)

    def __enter__(self) -> BackgroundClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="premortem-bench-diagnose-", dir="/tmp"))
    os.chmod(base, 0o755)
    lab = Lab(base / "lab", progress=say)
    try:
        say("bringing up a lab…")
        lab.up(port=free_port())
        lab.break_scenario("seed")
        url = lab.site_config().url
        plain = []
        for _ in range(RUNS):
            start = time.monotonic()
            httpx.get(url, timeout=10)
            plain.append(time.monotonic() - start)
        say("baseline latency of other clients (no diagnosis)…")
        with BackgroundClient(url, BACKGROUND_PATHS) as quiet:
            time.sleep(4.0)
        say("latency of other clients while strace is attached to every worker…")
        server = collect_server(
            int(url.rsplit(":", 1)[1].strip("/")),
            config_file=lab.site_config().server_config,
            host=LocalHost(),
        )
        pids = ([server.master_pid] if server.master_pid else []) + server.worker_pids
        with BackgroundClient(url, BACKGROUND_PATHS) as attached:
            time.sleep(0.3)
            trace_while(pids, lambda: time.sleep(4.0), max_seconds=10)
        runs: list[float] = []
        right = 0
        say(f"{RUNS} diagnoses with a background client…")
        with BackgroundClient(url, BACKGROUND_PATHS) as busy:
            for index in range(RUNS):
                elapsed, data = diagnose_once(lab)
                runs.append(elapsed)
                right += correct(data)
                say(f"  run {index + 1}: {elapsed:.2f} s, top finding correct: {correct(data)}")
        median = statistics.median(runs)
        result: dict[str, object] = {
            "scenario": "seed",
            "runs": [round(r, 3) for r in runs],
            "first_run_cold_cache_s": round(runs[0], 3),
            "median_s": round(median, 3),
            "plain_request_median_s": round(statistics.median(plain), 4),
            "correct_top_finding": f"{right}/{RUNS}",
            "bar_median_s": BAR_SECONDS,
            "other_clients": {},
            "background_errors": {
                "quiet": quiet.errors,
                "strace_attached": attached.errors,
                "during_diagnosis": busy.errors,
            },
        }
        print(f"\npremortem diagnose, seed scenario, {RUNS} runs (wall time of the CLI)")
        print(f"  one plain HTTP request (floor): {statistics.median(plain) * 1000:8.1f} ms")
        print(f"  diagnose first run (cold cache): {runs[0]:8.2f} s")
        print(f"  diagnose median:                 {median:8.2f} s   (bar <= {BAR_SECONDS:.0f} s)")
        print(f"  top finding correct:             {right}/{RUNS}")
        print(
            "\nlatency of other clients' requests: quiet -> strace attached (4 s) -> "
            "during the 5 diagnoses"
        )
        others: dict[str, dict[str, float]] = {}
        for path in BACKGROUND_PATHS:
            phases = {"quiet": quiet, "attached": attached, "diagnosing": busy}
            if not all(client.samples[path] for client in phases.values()):
                continue
            row: dict[str, float] = {}
            for phase, client in phases.items():
                samples = client.samples[path]
                row[f"samples_{phase}"] = len(samples)
                row[f"median_{phase}_ms"] = round(statistics.median(samples) * 1000, 2)
                row[f"p95_{phase}_ms"] = round(p95(samples) * 1000, 2)
            others[path] = row
            print(
                f"  {path:14} median {row['median_quiet_ms']:6.1f} -> "
                f"{row['median_attached_ms']:6.1f} -> {row['median_diagnosing_ms']:6.1f} ms"
                f" (+{row['median_attached_ms'] - row['median_quiet_ms']:.1f} ms traced);"
                f" p95 {row['p95_quiet_ms']:6.1f} -> {row['p95_attached_ms']:6.1f} -> "
                f"{row['p95_diagnosing_ms']:6.1f} ms"
            )
        result["other_clients"] = others
        print(
            f"  failed background requests: quiet {quiet.errors}, attached {attached.errors}, "
            f"diagnosing {busy.errors}"
        )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        ok = median <= BAR_SECONDS and right == RUNS and busy.errors + attached.errors == 0
        print(f"\n{'PASS' if ok else 'FAIL'} (results in {RESULTS})")
        return 0 if ok else 1
    finally:
        try:
            lab.destroy()
        finally:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
