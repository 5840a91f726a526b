"""fix against the real nginx + php-fpm lab with the seed incident injected (`lab break seed`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from deploy_helpers import cli
from fix_helpers import seed_dry_run_then_fix, status
from premortem.ops.lab import Lab
from premortem.ops.lab import phpfpm as lab_phpfpm

pytestmark = pytest.mark.lab


def test_seed_dry_run_then_fix_yes_on_nginx(healthy_nginx_lab: Lab) -> None:
    _, fixed = seed_dry_run_then_fix(healthy_nginx_lab)
    # The lab's pool runs opcache with revalidate_freq 0 (every request stats the file) and
    # process_control_timeout 0 (a reload would cut requests): fix does not reload it.
    assert "php-fpm" not in fixed.stdout


@contextlib.contextmanager
def opcache_never_revalidating(lab: Lab) -> Iterator[None]:
    """The lab's pool with opcache on and validate_timestamps off (a common production
    setting), and process_control_timeout 10s (a reload lets workers finish)."""
    paths = lab.paths
    pool, fpm = paths.fpm_pool_conf.read_text(), paths.fpm_conf.read_text()
    on = "php_admin_flag[opcache.validate_timestamps] = on"
    assert on in pool
    paths.fpm_pool_conf.write_text(pool.replace(on, on.replace("= on", "= off")))
    paths.fpm_conf.write_text(
        fpm.replace("log_level = notice", "log_level = notice\nprocess_control_timeout = 10s")
    )
    lab_phpfpm.reload(paths)
    try:
        yield
    finally:
        paths.fpm_pool_conf.write_text(pool)
        paths.fpm_conf.write_text(fpm)
        lab_phpfpm.reload(paths)


def test_fix_reloads_php_fpm_when_opcache_would_keep_the_old_code(
    healthy_nginx_lab: Lab,
) -> None:
    lab = healthy_nginx_lab
    lab.break_scenario("seed")  # rewrites the pool (PHP logging off)
    with opcache_never_revalidating(lab):
        for _ in range(4):  # opcache now holds the broken wp-settings.php in every worker
            assert status(lab) == 500
        fixed = cli("fix", "--config", str(lab.config_path), "--yes")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "php-fpm reload" in " ".join(fixed.stdout.split())
        assert all(status(lab) == 200 for _ in range(4))
