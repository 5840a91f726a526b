"""deploy's refusals (clear errors before anything changes) and the verify log counter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deploy_helpers import make_site, site_config
from premortem.errors import PremortemError
from premortem.ops.deploy import DeployOptions, deploy, rollback
from premortem.ops.deploy.verify import count_statuses

FIXTURES = Path(__file__).parent / "fixtures" / "deploy"


def _site(tmp_path: Path) -> Path:
    return make_site(tmp_path / "site", ["20261126T000000Z"], "20261126T000000Z")


def test_servers_other_than_apache_and_nginx_are_refused_clearly(tmp_path: Path) -> None:
    config = site_config(_site(tmp_path))
    config.server = "lighttpd"
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(PremortemError, match="'lighttpd' is not supported"):
        deploy(config, src)
    with pytest.raises(PremortemError, match="'lighttpd' is not supported"):
        rollback(config)


def test_nginx_site_without_its_server_block_is_refused_before_anything_changes(
    tmp_path: Path,
) -> None:
    root = _site(tmp_path)
    config = site_config(root)
    config.server = "nginx"
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp { server { listen 127.0.0.1:9; root /elsewhere; } }\n")
    config.server_config = str(conf)
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.php").write_text("<?php echo 'new';\n")
    with pytest.raises(PremortemError, match=r"no server block .* has `root"):
        deploy(config, src, DeployOptions(check=False))
    assert os.readlink(root / "current") == "releases/20261126T000000Z"
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["20261126T000000Z"]


def test_keep_below_two_is_refused(tmp_path: Path) -> None:
    config = site_config(_site(tmp_path))
    with pytest.raises(PremortemError, match="--keep"):
        deploy(config, tmp_path, DeployOptions(keep=1))


def test_source_inside_the_site_is_refused(tmp_path: Path) -> None:
    root = _site(tmp_path)
    with pytest.raises(PremortemError, match="inside the site"):
        deploy(site_config(root), root / "releases" / "20261126T000000Z")


def test_docroot_must_be_the_current_link(tmp_path: Path) -> None:
    root = _site(tmp_path)
    config = site_config(root)
    config.docroot = str(root / "releases" / "20261126T000000Z")
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(PremortemError, match="DocumentRoot must be that link"):
        deploy(config, src)


def test_current_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    root = make_site(tmp_path / "site", ["20261126T000000Z"], None)
    (root / "current").mkdir()
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(PremortemError, match="not a symlink"):
        deploy(site_config(root), src)


def test_site_without_releases_dir_is_refused(tmp_path: Path) -> None:
    config = site_config(tmp_path / "nothing")
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(PremortemError, match="no releases/ directory"):
        deploy(config, src)


def test_access_log_counter_counts_complete_lines_only() -> None:
    log = FIXTURES / "access-after-switch.log"
    assert "premortem-probe/1" in log.read_text()  # premortem's own probe is not counted
    requests, errors, offset = count_statuses(str(log), 0)
    assert (requests, errors) == (4, 2)
    # the unfinished last line is left for the next round
    assert offset < log.stat().st_size
    assert count_statuses(str(log), offset)[:2] == (0, 0)
    # a rotated (smaller) log is read from the start
    assert count_statuses(str(log), 10**9)[:2] == (4, 2)


def test_stage_fatals_are_php_fatals_only_and_redacted() -> None:
    from premortem.ops.deploy.stage import _fatal_lines

    fatals = _fatal_lines(FIXTURES / "stage-error.log")
    assert len(fatals) == 2  # the warning and the notice that merely mention it do not count
    assert fatals[0].startswith("PHP Fatal error:  Uncaught Error: Failed opening required")
    assert "Stack trace" not in fatals[0]  # the message, not PHP's one-line stack trace
    assert "hunter2-secret" not in fatals[1]
