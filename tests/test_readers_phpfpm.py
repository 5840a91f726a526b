"""The one php-fpm config reader: pools through include=, their PHP values for deploy."""

from __future__ import annotations

from pathlib import Path

from premortem.ops.deploy.phpfpm import opcache_settings
from premortem.readers.phpfpm import pool_php_values, read_fpm_config


def test_pools_and_their_php_values_come_from_one_reading(tmp_path: Path) -> None:
    pool_dir = tmp_path / "pool.d"
    pool_dir.mkdir()
    conf = tmp_path / "php-fpm.conf"
    conf.write_text(f"[global]\nprocess_control_timeout = 10s\ninclude = {pool_dir}/*.conf\n")
    (pool_dir / "www.conf").write_text(
        "[www]\nlisten = /run/$pool.sock\nuser = www-data\n"
        "php_admin_value[error_log] = /var/log/$pool-php.log\n"
        'php_admin_flag[opcache.enable] = "off"\n'
    )
    global_settings, [pool] = read_fpm_config(str(conf))
    assert global_settings["process_control_timeout"] == "10s"
    assert (pool.name, pool.listen, pool.user) == ("www", "/run/www.sock", "www-data")
    assert pool.php_settings == {"error_log": "/var/log/www-php.log"}  # logging ones only
    assert pool_php_values(str(conf), "www")["opcache.enable"] == "off"
    assert opcache_settings(str(conf), str(pool_dir / "www.conf"), "www")["opcache.enable"] == "off"
