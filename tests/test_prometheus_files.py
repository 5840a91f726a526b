"""The shipped Prometheus and Alertmanager files are valid for the real tools (Debian's
prometheus and prometheus-alertmanager packages), and the alerting rules fire on the series
watch exports (promtool's rule unit tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

CONTRIB = Path(__file__).resolve().parents[1] / "contrib"


def tool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=cwd, timeout=60)


@pytest.mark.parametrize(
    "command",
    [
        ("promtool", "check", "config", "prometheus.yml"),
        ("promtool", "check", "rules", "premortem-alerts.yml"),
        ("promtool", "test", "rules", "premortem-alerts.test.yml"),
    ],
)
def test_prometheus_accepts_the_scrape_config_and_the_rules(command: tuple[str, ...]) -> None:
    proc = tool(*command, cwd=CONTRIB / "prometheus")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_alertmanager_accepts_the_route_example() -> None:
    proc = tool("amtool", "check-config", "alertmanager.yml", cwd=CONTRIB / "alertmanager")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_the_rules_only_name_metrics_watch_exports() -> None:
    from premortem.watch.metrics import WatchMetrics

    exported = {metric.name for metric in WatchMetrics(site="s", host="h").registry.collect()}
    rules = (CONTRIB / "prometheus" / "premortem-alerts.yml").read_text()
    named = {word for word in rules.replace("(", " ").split() if word.startswith("premortem_")}
    assert named and named <= exported, named - exported
