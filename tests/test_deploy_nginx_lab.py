"""deploy/rollback against the real nginx + php-fpm lab (MariaDB, Debian's WordPress).

The module brings up its own nginx lab, so that switching `current` and marking releases bad
never disturbs the shared `nginx_lab` fixture other tests use. Each release carries a marker
script whose output names it: "the new code is served" is checked by asking php-fpm for it.
The lab's nginx passes SCRIPT_FILENAME from `$realpath_root`; other tests switch its config to
Debian's `$document_root` (fastcgi.conf), where php-fpm's realpath caches hold on to the old
release unless deploy replaces the workers (with opcache on, with a process_control_timeout
that makes a php-fpm reload graceful, with nginx's open_file_cache on).
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy_helpers import (
    cli,
    deploy_under_load,
    layout_of,
    private_lab,
    release_sources,
)
from premortem.ops.deploy.releases import current_release_name, list_releases
from premortem.ops.lab import Lab
from premortem.ops.lab import nginx as lab_nginx
from premortem.ops.lab import phpfpm as lab_phpfpm
from premortem.siteconfig import read_site_config, write_site_config
from premortem.store import open_store

pytestmark = pytest.mark.lab

MARKER = "premortem-marker.php"


@pytest.fixture(scope="module")
def deploy_nginx_lab() -> Iterator[Lab]:
    with private_lab("premortem-deploy-nginx-test-", server="nginx") as lab:
        yield lab


@pytest.fixture(scope="module")
def sources(deploy_nginx_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return release_sources(deploy_nginx_lab, tmp_path_factory.mktemp("src"))


def with_marker(src: Path, token: str) -> Path:
    """`src` with a PHP script answering `token`: which release php-fpm really runs."""
    marker = src / MARKER
    marker.unlink(missing_ok=True)
    marker.write_text(f"<?php echo '{token}';\n")
    return src


def markers(url: str, requests: int = 16) -> Counter[str]:
    """What the marker answers over several requests (several php-fpm workers)."""
    with httpx.Client(timeout=30) as client:
        return Counter(client.get(url.rstrip("/") + "/" + MARKER).text for _ in range(requests))


def test_seed_release_is_stopped_by_the_gate(
    deploy_nginx_lab: Lab, sources: dict[str, Path]
) -> None:
    layout = layout_of(deploy_nginx_lab)
    before = current_release_name(layout)
    proc = cli("deploy", str(sources["seed"]), "--config", str(deploy_nginx_lab.config_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "stopped by the gate" in out
    assert "wp-settings.php:156" in out and "class-wp-locale.php" in out
    assert current_release_name(layout) == before
    assert httpx.get(deploy_nginx_lab.url, timeout=30).status_code == 200


def test_stage_serves_the_release_through_the_sites_php_fpm(
    deploy_nginx_lab: Lab, sources: dict[str, Path]
) -> None:
    """The stage (a second nginx) stops the seed when the gate is skipped; always stopped."""
    layout = layout_of(deploy_nginx_lab)
    before = current_release_name(layout)
    proc = cli(
        "deploy",
        str(sources["seed"]),
        "--no-check",
        "--format",
        "json",
        "--config",
        str(deploy_nginx_lab.config_path),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["outcome"] == "stopped" and result["stopped_at"] == "stage"
    assert "/ -> 500" in result["reason"]
    # PHP's fatal came from the pool's own log, the line naming the staged release.
    assert "class-wp-locale.phpp" in result["reason"] and result["release"] in result["reason"]
    assert current_release_name(layout) == before
    stage = read_site_config(deploy_nginx_lab.config_path).path_of_state / "stage"
    assert not (stage / "nginx.pid").exists()
    assert "listen 127.0.0.1:" in (stage / "stage.conf").read_text()
    assert not subprocess.run(
        ["pgrep", "-f", str(stage / "stage.conf")], capture_output=True, check=False
    ).stdout


def test_good_deploy_under_load_serves_the_new_code_with_no_failed_request(
    deploy_nginx_lab: Lab, sources: dict[str, Path]
) -> None:
    layout = layout_of(deploy_nginx_lab)
    before = current_release_name(layout)
    src = with_marker(sources["good"], "release-one")
    result, load = deploy_under_load(deploy_nginx_lab, src, "--verify-seconds", "2")
    assert result["returncode"] == 0, result
    served = markers(deploy_nginx_lab.url)
    print(
        f"\nnginx good deploy under 8 loopback clients: {load.served} served, "
        f"{len(load.failed)} failed, {load.retried} kept-alive retries; "
        f"switch {result['switch_seconds']}s "
        f"({result['refreshed']}); steps {result['timings']}"
    )
    assert load.failed == []
    assert load.served > 20
    assert result["user_errors"] == 0
    assert result["outcome"] == "deployed" and result["previous"] == before
    assert current_release_name(layout) == result["release"]
    assert served == Counter({"release-one": 16})
    # The lab passes $realpath_root: php-fpm never sees `current`, nothing to refresh.
    assert result["refreshed"] == [
        "php-fpm: nothing to refresh (SCRIPT_FILENAME from $realpath_root)"
    ]


# The lab's pool runs opcache (php.ini's opcache.enable = 1); a pool can switch it off.
OPCACHE_ON: dict[str, str] = {}
OPCACHE_OFF = {
    "php_admin_flag[opcache.validate_timestamps] = on": "php_admin_flag[opcache.enable] = off"
}
TIMEOUT = {"log_level = notice": "log_level = notice\nprocess_control_timeout = 10s"}
# How the site's config differs from the lab's, and what deploy must then do after the switch.
VARIANTS: dict[str, tuple[dict[str, str], dict[str, str], list[str]]] = {
    # Debian's fastcgi.conf: php-fpm's realpath caches would keep the old release (120 s);
    # opcache off: restarting the workers is enough.
    "document-root": ({}, OPCACHE_OFF, ["php-fpm worker-restart"]),
    # opcache on (as PHP ships it) would keep the old code for good: a php-fpm reload,
    # graceful with process_control_timeout > 0; open_file_cache on: nginx is reloaded too.
    "document-root+opcache+timeout+open-file-cache": (
        TIMEOUT,
        OPCACHE_ON,
        ["nginx reload (open_file_cache on)", "php-fpm reload "],
    ),
}


@contextlib.contextmanager
def _edit_lab(
    lab: Lab, nginx: dict[str, str], fpm: dict[str, str], pool: dict[str, str]
) -> Iterator[None]:
    """The lab's configs edited (and reloaded) for the duration; restored afterwards."""
    paths = lab.paths
    edited = {paths.nginx_conf: nginx, paths.fpm_conf: fpm, paths.fpm_pool_conf: pool}
    originals = {path: path.read_text() for path in edited}
    for path, edits in edited.items():
        text = originals[path]
        for old, new in edits.items():
            assert old in text
            text = text.replace(old, new)
        path.write_text(text)
    lab_nginx.reload(paths)
    lab_phpfpm.reload(paths)
    try:
        yield
    finally:
        for path, text in originals.items():
            path.write_text(text)
        lab_nginx.reload(paths)
        lab_phpfpm.reload(paths)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_document_root_configs_get_the_new_code_without_failed_requests(
    deploy_nginx_lab: Lab, sources: dict[str, Path], variant: str
) -> None:
    fpm_edits, pool_edits, expected = VARIANTS[variant]
    nginx_edits = {"$realpath_root": "$document_root"}
    if "open-file-cache" in variant:
        nginx_edits["sendfile on;"] = "sendfile on;\n    open_file_cache max=1000 inactive=60s;"
    with _edit_lab(deploy_nginx_lab, nginx_edits, fpm_edits, pool_edits):
        before = markers(deploy_nginx_lab.url)
        assert len(before) == 1 and f"release-{variant}" not in before  # caches warm
        src = with_marker(sources["good"], f"release-{variant}")
        result, load = deploy_under_load(
            deploy_nginx_lab, src, "--no-check", "--verify-seconds", "1"
        )
        assert result["returncode"] == 0, result
        served = markers(deploy_nginx_lab.url)
        print(
            f"\nnginx ({variant}) good deploy under 8 clients: {load.served} served, "
            f"{len(load.failed)} failed, {load.retried} kept-alive retries; "
            f"switch {result['switch_seconds']}s "
            f"({result['refreshed']})"
        )
        assert load.failed == []
        assert served == Counter({f"release-{variant}": 16})
        refreshed = result["refreshed"]
        assert isinstance(refreshed, list) and len(refreshed) == len(expected)
        assert all(done.startswith(what) for done, what in zip(refreshed, expected, strict=True))


def test_a_php_fpm_that_cannot_be_refreshed_without_cutting_requests_is_refused(
    deploy_nginx_lab: Lab, sources: dict[str, Path]
) -> None:
    """opcache on and process_control_timeout 0 (both php-fpm's defaults): only a reload that
    cuts requests would make PHP run the new code; deploy says so before anything changes."""
    layout = layout_of(deploy_nginx_lab)
    before = current_release_name(layout)
    releases = len(list_releases(layout))
    nginx_edits = {"$realpath_root": "$document_root"}
    with _edit_lab(deploy_nginx_lab, nginx_edits, {}, OPCACHE_ON):
        proc = cli("deploy", str(sources["good"]), "--config", str(deploy_nginx_lab.config_path))
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())
    assert "deploy refused" in message and "process_control_timeout = 10s" in message
    assert "$realpath_root" in message and "Traceback" not in message
    assert current_release_name(layout) == before
    assert len(list_releases(layout)) == releases


def test_bad_deploy_without_gates_rolls_back(
    deploy_nginx_lab: Lab, sources: dict[str, Path]
) -> None:
    layout = layout_of(deploy_nginx_lab)
    before = current_release_name(layout)
    result, load = deploy_under_load(deploy_nginx_lab, sources["seed"], "--no-check", "--no-stage")
    assert result["returncode"] == 1, result
    rollback_seconds = result["rollback_seconds"]
    assert isinstance(rollback_seconds, float)
    print(
        f"\nnginx bad deploy (--no-check --no-stage) under 8 clients: {len(load.failed)} "
        f"failed, {load.served} served; rolled back {rollback_seconds:.2f}s after the switch"
    )
    assert result["outcome"] == "rolled-back"
    assert rollback_seconds <= 10
    after_switch = result["user_errors_after_switch"]
    assert isinstance(after_switch, int) and 0 < after_switch <= len(load.failed)
    assert current_release_name(layout) == before
    bad = {r.name: r for r in list_releases(layout)}[str(result["release"])]
    assert bad.bad and bad.bad_reason is not None and bad.bad_reason.startswith("verify")
    assert httpx.get(deploy_nginx_lab.url, timeout=30).status_code == 200
    with open_store(read_site_config(deploy_nginx_lab.config_path).path_of_state) as store:
        assert store.events(kinds=["rollback"])[-1].data["automatic"] is True


def test_rollback_serves_the_previous_release_code(
    deploy_nginx_lab: Lab, sources: dict[str, Path]
) -> None:
    config = str(deploy_nginx_lab.config_path)
    layout = layout_of(deploy_nginx_lab)
    fast = ("--no-check", "--no-stage", "--verify-seconds", "0.5", "--config", config)
    src = with_marker(sources["good"], "release-three")
    assert cli("deploy", str(src), *fast).returncode == 0
    three = current_release_name(layout)
    src = with_marker(sources["good"], "release-four")
    assert cli("deploy", str(src), *fast).returncode == 0
    assert markers(deploy_nginx_lab.url) == Counter({"release-four": 16})
    started = time.monotonic()
    proc = cli("rollback", "--config", config, "--verify-seconds", "1")
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"\nnginx rollback (1 s verification): {seconds:.2f}s")
    assert current_release_name(layout) == three
    assert "php-fpm: nothing to refresh" in " ".join(proc.stdout.split())
    assert markers(deploy_nginx_lab.url) == Counter({"release-three": 16})
    with open_store(read_site_config(deploy_nginx_lab.config_path).path_of_state) as store:
        assert store.events(kinds=["rollback"])[-1].data["automatic"] is False


def test_deploy_killed_during_the_stage_leaves_no_stage_nginx(
    deploy_nginx_lab: Lab, sources: dict[str, Path], tmp_path: Path
) -> None:
    # A smoke path that takes 3 s keeps the stage nginx serving while the deploy is killed.
    site = read_site_config(deploy_nginx_lab.config_path)
    site.smoke_paths = ["/", "/premortem-slow.php"]
    write_site_config(site, tmp_path / "premortem.toml")
    config = str(tmp_path / "premortem.toml")
    slow = sources["good"] / "premortem-slow.php"
    slow.write_text("<?php usleep(3000000); echo 'slow';\n")
    layout = layout_of(deploy_nginx_lab)
    before = current_release_name(layout)
    stage = site.path_of_state / "stage"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "premortem",
            "deploy",
            str(sources["good"]),
            "--no-check",
            "--config",
            config,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "stage..." in line:
            break
    deadline = time.monotonic() + 10
    while not (stage / "nginx.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (stage / "nginx.pid").exists()  # the stage nginx runs
    time.sleep(0.5)  # inside the slow smoke request
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert current_release_name(layout) == before
    again = cli(
        "deploy",
        str(sources["good"]),
        "--no-check",
        "--no-stage",
        "--verify-seconds",
        "0.5",
        "--config",
        config,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    message = " ".join(again.stderr.split())
    assert "stale deploy lock" in message and "stage server" in message
    assert not (stage / "nginx.pid").exists()
    assert not subprocess.run(
        ["pgrep", "-f", str(stage / "stage.conf")], capture_output=True, check=False
    ).stdout
