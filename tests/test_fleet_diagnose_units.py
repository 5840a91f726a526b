"""`premortem fleet diagnose|fix`'s merge over recorded per-host reports (what
playbooks/diagnose.yml and fix.yml wrote on the fleet lab; tests/fixtures/fleet/record.py), and
the playbooks' per-host URL, without starting anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from premortem.errors import ExitStatus, PremortemError
from premortem.ops.fleet.ansible import inventory_vars, playbook_dir, playbook_failures
from premortem.ops.fleet.diagnose import BalancerSample, merge_reports, require_url
from premortem.ops.fleet.fix import FleetFix, host_fix

FIXTURES = Path(__file__).parent / "fixtures" / "fleet" / "diagnose"
HOSTS = ["web-01", "web-02", "web-03"]


def _recorded(name: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    folder = FIXTURES / name
    reports = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    return reports, (folder / "ansible-output.txt").read_text().splitlines()


def test_seed_on_one_host_names_it_failing_at_wp_settings_156_and_the_others_healthy() -> None:
    reports, output = _recorded("seed-web-02")
    result = merge_reports("http://127.0.0.1:18431/", HOSTS, reports, playbook_failures(output))
    assert [(h.name, h.status) for h in result.hosts] == [
        ("web-01", "healthy"),
        ("web-02", "failing"),
        ("web-03", "healthy"),
    ]
    assert result.failing[0].where == "wp-settings.php:156"
    assert result.exit_code == ExitStatus.PROBLEMS
    data = result.to_json()
    assert [h["name"] for h in data["hosts"]] == HOSTS
    assert data["hosts"][1]["findings"] == reports["web-02"]["diagnosis"]["findings"]
    assert data["hosts"][1]["root_cause"]["rule"] == "missing-file"
    summary = data["summary"]
    assert summary["failing"] == ["web-02"] and summary["healthy"] == ["web-01", "web-03"]
    assert summary["root_causes"] == {"web-02": "wp-settings.php:156"}
    # The seed edits one host by hand: the changed file sets it apart from the healthy ones.
    assert any("wp-settings.php changed since the last deploy on web-02 only" in s
               for s in summary["common"])  # fmt: skip


def test_the_same_root_cause_on_two_hosts_is_what_they_have_in_common() -> None:
    reports, output = _recorded("seed-web-02-web-03")
    result = merge_reports("http://127.0.0.1:18431/", HOSTS, reports, playbook_failures(output))
    assert [h.name for h in result.failing] == ["web-02", "web-03"]
    assert result.common[0] == (
        "the same root cause on every failing host: missing-file wp-settings.php:156"
    )
    assert "healthy: web-01" in result.common


def test_all_healthy_exits_0_and_says_nothing_in_common() -> None:
    reports, _ = _recorded("seed-web-02")
    healthy = {name: reports["web-01"] | {"name": name} for name in HOSTS}
    result = merge_reports("http://127.0.0.1:18431/", HOSTS, healthy)
    assert result.exit_code == ExitStatus.OK
    assert result.common == []


def test_an_unreachable_host_is_unknown_with_ansibles_reason_and_exits_2() -> None:
    reports, output = _recorded("unreachable")
    result = merge_reports("http://127.0.0.1:18431/", ["web-01", "web-09"], reports,
                           playbook_failures(output))  # fmt: skip
    web01, web09 = result.hosts
    assert web01.status == "healthy"
    assert web09.status == "unknown"
    assert web09.error.startswith("unreachable: ") and "No route to host" in web09.error
    assert result.exit_code == ExitStatus.ERROR


def test_a_report_without_json_is_unknown_not_healthy() -> None:
    result = merge_reports("http://lb/", ["web-01"], {"web-01": {"rc": 2, "diagnosis": None}})
    assert result.hosts[0].status == "unknown"
    assert "exited 2" in result.hosts[0].error


def test_the_balancer_share_comes_with_the_summary() -> None:
    reports, _ = _recorded("seed-web-02")
    sample = BalancerSample("http://lb/", sent=30, failed=10, statuses={"200": 20, "500": 10})
    sample.servers = {"web-02": {"responses": 10, "errors": 10, "status": "UP"}}
    result = merge_reports("http://lb/", HOSTS, reports, balancer=sample)
    balancer = result.to_json()["summary"]["balancer"]
    assert balancer["failed_share"] == 0.333
    assert balancer["servers"]["web-02"]["errors"] == 10


def test_a_fix_report_splits_the_diff_from_the_verdict() -> None:
    stdout = (
        "--- a/wp-settings.php\n+++ b/wp-settings.php\n@@ -153,7 +153,7 @@\n"
        "-require_once ABSPATH . WPINC . '/class-wp-locale.phpp';\n"
        "+require_once ABSPATH . WPINC . '/class-wp-locale.php';\n"
        "fixed: wp-settings.php; site healthy (/ 200, /wp-login.php 200); backup in\n"
        "/srv/lab/hosts/web-02/state/backups/fix-20261129T055717.086500Z\n"
    )
    report = {"rc": 0, "stdout": stdout, "stderr": "finding: missing-file"}
    fixed = host_fix("web-02", "missing-file wp-settings.php:156", report, True)
    assert fixed.outcome == "fixed"
    assert fixed.diff.endswith("'/class-wp-locale.php';")
    assert fixed.message.startswith("fixed: wp-settings.php") and "fix-20261129T" in fixed.message
    changed = "premortem: the file changed since the diagnosis"
    refused = host_fix("web-02", "", {"rc": 2, "stdout": "", "stderr": changed}, True)
    assert refused.outcome == "could-not"
    assert refused.message == "the file changed since the diagnosis"
    dry = host_fix("web-02", "", {"rc": 0, "stdout": stdout.split("fixed:")[0]}, False)
    assert dry.outcome == "would-fix"


def test_a_fleet_fix_exits_by_the_state_after_it() -> None:
    reports, _ = _recorded("seed-web-02")
    before = merge_reports("http://lb/", HOSTS, reports)
    healthy = {name: reports["web-01"] | {"name": name} for name in HOSTS}
    after = merge_reports("http://lb/", HOSTS, healthy)
    assert FleetFix(True, before, after=after).exit_code == ExitStatus.OK
    assert FleetFix(True, before, after=before).exit_code == ExitStatus.PROBLEMS
    assert FleetFix(False, before).exit_code == ExitStatus.OK  # a dry run


URL_CASES = {  # host: (its inventory variables, the URL diagnose.yml asks it at)
    "a": ("balancer_url=http://127.0.0.1:18431/ ansible_host=10.0.0.12", "http://10.0.0.12:18431/"),
    "b": ("balancer_url='https://shop.example/cart?x=1' ansible_host=10.0.0.12",
          "https://10.0.0.12/cart?x=1"),
    "c": ("balancer_url=http://lb:8080", "http://c:8080/"),
    "d": ("balancer_url=http://lb/ premortem_url=http://d.internal:81/", "http://d.internal:81/"),
}  # fmt: skip


def test_each_host_is_diagnosed_at_its_own_address(tmp_path: Path) -> None:
    """The URL diagnose.yml gives each host: its own address with the balancer's scheme, port,
    path and query, or premortem_url (as ansible-playbook itself computes it, on localhost)."""
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[web]\n" + "".join(
        f"{name} ansible_connection=local {host_vars}\n"
        for name, (host_vars, _) in URL_CASES.items()
    ))  # fmt: skip
    playbook = tmp_path / "url.yml"
    play = (playbook_dir() / "diagnose.yml").read_text().split("  tasks:")[0]
    debug = "  tasks:\n    - ansible.builtin.debug: {msg: 'URL={{ own_url }}'}\n"
    playbook.write_text(play + debug)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
         str(playbook)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name, (_, expected) in URL_CASES.items():
        assert f'ok: [{name}] => {{\n    "msg": "URL={expected}"' in proc.stdout, proc.stdout


def test_hosts_takes_a_group_or_an_ansible_pattern(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "[web]\nweb-01 ansible_host=10.0.0.1\nweb-02 ansible_host=10.0.0.2\n"
        "web-03 ansible_host=10.0.0.3\n[web:vars]\nhaproxy_socket=/run/haproxy.sock\n"
    )
    hosts = inventory_vars(inventory)
    assert list(hosts) == HOSTS
    assert hosts["web-02"] == {"ansible_host": "10.0.0.2", "haproxy_socket": "/run/haproxy.sock"}
    assert list(inventory_vars(inventory, "web:!web-02")) == ["web-01", "web-03"]
    with pytest.raises(PremortemError, match="matches 'db'"):
        inventory_vars(inventory, "db")


def test_the_balancers_url_must_be_http_and_hold_no_ansible_template() -> None:
    assert require_url("https://shop.example/cart") == "https://shop.example/cart"
    for bad in ("shop.example", "http://lb/{{ lookup('pipe', 'id') }}", "http://lb/{%x%}"):
        with pytest.raises(PremortemError):
            require_url(bad)


def test_the_text_report_names_the_host_its_cause_and_the_balancers_share() -> None:
    from premortem.cli.console import console
    from premortem.cli.fleet import _print_diagnosis

    reports, _ = _recorded("seed-web-02")
    sample = BalancerSample("http://lb/", sent=30, failed=10, statuses={"200": 20, "500": 10})
    sample.servers = {"web-02": {"responses": 10, "errors": 10, "status": "UP"}}
    with console.capture() as captured:
        _print_diagnosis(merge_reports("http://lb/", HOSTS, reports, balancer=sample))
    text = captured.get()
    assert "1 of 3 hosts failing behind http://lb/" in text
    assert "web-02     failing  missing-file wp-settings.php:156:" in text
    assert "fix: change class-wp-locale.phpp to class-wp-locale.php" in text
    assert "balancer: 10 of 30 requests failed (33%); HAProxy: web-02 10 of 10 answers" in text
