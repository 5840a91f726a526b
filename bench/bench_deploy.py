"""bench_deploy: measure deploy, automatic rollback and the gate on the real lab under load.

Brings up its own lab (Apache + mod_php, with `--server nginx` nginx + php-fpm, with
`--server apache-fpm` Apache + php-fpm; MariaDB,
WordPress on 127.0.0.1) in a temp dir, then,
`--runs` times each, with 8 loopback clients requesting `/` and `/wp-login.php` during the
whole command (each command runs as its own process, as users run it):

- good deploy (gate + stage + switch + verify): requests served, failed (goal 0), switch +
  graceful reload duration, step timings;
- bad deploy forced with `--no-check --no-stage` (the seed's typo): failed requests and the
  seconds from the switch to the automatic rollback (goal <= 10 s);
- the seed release with the gate on: stopped by the gate, `current` unchanged.

Writes deploy.json and deploy.md (nginx: deploy-nginx.json, deploy-nginx.md) to $BENCH_OUT or
bench/results/. Usage: `python bench/bench_deploy.py [--runs N] [--verify-seconds S]
[--server apache|nginx|apache-fpm]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from deploy_helpers import LoopbackLoad, release_sources  # noqa: E402
from premortem.ops.deploy.releases import SiteLayout, current_release_name  # noqa: E402
from premortem.ops.lab import Lab  # noqa: E402
from premortem.ops.lab.procs import free_port  # noqa: E402
from premortem.ops.packages import LAB_PACKAGES, ensure_packages  # noqa: E402
from premortem.siteconfig import read_site_config  # noqa: E402

CLIENTS = 8


def deploy_under_load(lab: Lab, src: Path, *extra: str) -> dict[str, Any]:
    with LoopbackLoad(lab.url, CLIENTS, ("/", "/wp-login.php")) as load:
        time.sleep(0.5)
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "premortem",
                "deploy",
                str(src),
                "--format",
                "json",
                "--config",
                str(lab.config_path),
                *extra,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - started
        time.sleep(0.5)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"deploy failed to run (exit {proc.returncode}): {proc.stderr}")
    result = json.loads(proc.stdout)
    return {
        "exit": proc.returncode,
        "outcome": result["outcome"],
        "stopped_at": result["stopped_at"],
        "seconds": round(seconds, 2),
        "served": load.served,
        "failed": len(load.failed),
        "keepalive_retries": load.retried,
        "switch_seconds": result["switch_seconds"],
        "refreshed": result.get("refreshed", []),
        "access_log_user_requests": result["user_requests"],
        "access_log_user_errors": result["user_errors"],
        "access_log_errors_after_switch": result["user_errors_after_switch"],
        "rollback_seconds": result["rollback_seconds"],
        "timings": result["timings"],
    }


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--verify-seconds", type=float, default=10.0)
    parser.add_argument("--server", choices=["apache", "nginx", "apache-fpm"], default="apache")
    args = parser.parse_args()
    stem = "deploy" if args.server == "apache" else f"deploy-{args.server}"
    ensure_packages(LAB_PACKAGES)
    out_dir = Path(os.environ.get("BENCH_OUT", ROOT / "bench" / "results"))
    out_dir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="premortem-bench-deploy-", dir="/tmp"))
    os.chmod(base, 0o755)
    lab = Lab(base / "lab", progress=lambda m: print(m, file=sys.stderr))
    results: dict[str, Any] = {
        "server": args.server,
        "clients": CLIENTS,
        "runs": args.runs,
        "good": [],
        "bad": [],
    }
    try:
        lab.up(port=free_port(), server=args.server)
        made = release_sources(lab, base)
        good, seed = made["good"], made["seed"]
        layout = SiteLayout(Path(read_site_config(lab.config_path).site_root))
        verify = ["--verify-seconds", str(args.verify_seconds)]
        before = current_release_name(layout)
        gate = deploy_under_load(lab, seed, *verify)
        gate["current_unchanged"] = current_release_name(layout) == before
        results["seed_gate"] = gate
        print(
            f"seed release: {gate['outcome']} at {gate['stopped_at']}, current unchanged: "
            f"{gate['current_unchanged']}, {gate['failed']} failed requests",
            file=sys.stderr,
        )
        for run in range(args.runs):
            ok = deploy_under_load(lab, good, *verify)
            results["good"].append(ok)
            print(
                f"good deploy {run + 1}: {ok['outcome']}, {ok['served']} served, "
                f"{ok['failed']} failed, switch {ok['switch_seconds']:.3f}s",
                file=sys.stderr,
            )
            bad = deploy_under_load(lab, seed, "--no-check", "--no-stage", *verify)
            results["bad"].append(bad)
            print(
                f"bad deploy {run + 1}: {bad['outcome']}, {bad['failed']} failed, rollback "
                f"{bad['rollback_seconds']:.2f}s after the switch",
                file=sys.stderr,
            )
    finally:
        try:
            lab.destroy()
        finally:
            shutil.rmtree(base, ignore_errors=True)
    good_runs, bad_runs = results["good"], results["bad"]
    lines = [
        f"# deploy bench, {args.server} ({CLIENTS} loopback clients during each deploy, "
        f"{args.runs} runs)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| seed release with the gate | {results['seed_gate']['outcome']} at "
        f"{results['seed_gate']['stopped_at']}, current unchanged: "
        f"{results['seed_gate']['current_unchanged']} |",
        f"| good deploys live | {sum(r['outcome'] == 'deployed' for r in good_runs)}/{args.runs} |",
        f"| good deploy: requests served | {sum(r['served'] for r in good_runs)} |",
        f"| good deploy: failed requests | {sum(r['failed'] for r in good_runs)} |",
        f"| good deploy: kept-alive connections closed by the graceful restart, retried | "
        f"{sum(r['keepalive_retries'] for r in good_runs)} |",
        f"| good deploy: 5xx in the access log | "
        f"{sum(r['access_log_user_errors'] for r in good_runs)} |",
        f"| good deploy: switch + graceful reload (s) | "
        f"{summary([r['switch_seconds'] for r in good_runs])} |",
        *(
            f"| good deploy: step {step} (s) | "
            f"{summary([r['timings'][step] for r in good_runs if step in r['timings']])} |"
            for step in ("copy", "gate", "stage", "switch", "verify", "cleanup")
            if any(step in r["timings"] for r in good_runs)
        ),
        f"| good deploy: total (s) | {summary([r['seconds'] for r in good_runs])} |",
        f"| bad deploy rolled back | "
        f"{sum(r['outcome'] == 'rolled-back' for r in bad_runs)}/{args.runs} |",
        f"| bad deploy: failed requests | {summary([float(r['failed']) for r in bad_runs])} |",
        f"| bad deploy: 5xx in the access log, switch to rollback | "
        f"{summary([float(r['access_log_errors_after_switch']) for r in bad_runs])} |",
        f"| bad deploy: switch to rollback (s) | "
        f"{summary([r['rollback_seconds'] for r in bad_runs])} |",
    ]
    (out_dir / f"{stem}.json").write_text(json.dumps(results, indent=2))
    (out_dir / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    failed_good = sum(r["failed"] for r in good_runs)
    slow = [r for r in bad_runs if (r["rollback_seconds"] or 99) > 10]
    passed = failed_good == 0 and not slow and bool(results["seed_gate"]["current_unchanged"])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
