"""The stage's Apache config, derived from the site's: same settings, side port, new release."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from premortem.ops.deploy.apache import apache_command, apache_env
from premortem.ops.deploy.stage import flatten_apache_config, stage_apache_config
from premortem.siteconfig import SiteConfig

FIXTURES = Path(__file__).parent / "fixtures" / "deploy"


def _config(tmp_path: Path) -> tuple[SiteConfig, Path]:
    conf_dir = tmp_path / "apache"
    shutil.copytree(FIXTURES / "apache-debian", conf_dir)
    main = conf_dir / "apache2.conf"
    # ServerRoot makes the relative includes resolve inside the copy.
    main.write_text(f'ServerRoot "{conf_dir}"\n' + main.read_text())
    config = SiteConfig(
        url="http://www.example.com/",
        site_root="/srv/site",
        docroot="/srv/site/current",
        server_config=str(main),
    )
    return config, conf_dir


def test_includes_are_inlined_in_order(tmp_path: Path) -> None:
    config, _ = _config(tmp_path)
    lines = flatten_apache_config(Path(config.server_config))
    text = "\n".join(lines)
    assert "Include" not in text.replace("IncludeOptional", "")
    assert text.index("Listen 80") < text.index("Mutex file:") < text.index("<VirtualHost *:80>")


def test_stage_config_moves_port_docroot_pid_and_logs(tmp_path: Path) -> None:
    config, _ = _config(tmp_path)
    stage = tmp_path / "state" / "stage"
    release = Path("/srv/site/releases/20261126T010000Z")
    text, _root = stage_apache_config(config, release, stage, 18123)
    directives = [line.strip() for line in text.splitlines()]
    listens = [d for d in directives if d.startswith("Listen")]
    assert listens == ["Listen 127.0.0.1:18123"]
    assert "<VirtualHost 127.0.0.1:18123>" in directives
    assert f"DocumentRoot {release}" in directives
    assert f"<Directory {release}>" in directives
    assert f"Alias /static {release}/static" in directives
    # only the docroot path itself is rewritten, not a path that merely starts like it
    assert "Alias /other /srv/site/currently-not-the-docroot" in directives
    assert f'PidFile "{stage}/httpd.pid"' in directives
    assert f"Mutex file:{stage} default" in directives
    assert [d for d in directives if d.startswith("ErrorLog")] == [
        f'ErrorLog "{stage}/error.log"'
    ] * 3
    assert f'CustomLog "{stage}/access.log" combined' in directives
    assert "/srv/site/current" not in text.replace("/srv/site/currently", "")
    assert "${APACHE_PID_FILE}" not in text and "APACHE_LOG_DIR" not in text


def test_real_apache_accepts_the_derived_config(tmp_path: Path) -> None:
    config, _ = _config(tmp_path)
    stage = tmp_path / "stage"
    stage.mkdir()
    release = tmp_path / "release"
    release.mkdir()
    config.docroot = "/srv/site/current"
    text, _root = stage_apache_config(config, release, stage, 18124)
    conf = stage / "stage.conf"
    conf.write_text(text)
    env = apache_env(conf)
    env.update(APACHE_RUN_DIR=str(stage), APACHE_LOCK_DIR=str(stage))
    proc = subprocess.run(
        [*apache_command(conf), "-t"], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Syntax OK" in proc.stderr
