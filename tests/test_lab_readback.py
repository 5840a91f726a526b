"""The lab reads the configs it writes back through premortem's readers (no server started):
for every flavour, plain and TLS, what readers/ read in the rendered Apache, nginx and php-fpm
configs is what the lab's premortem.toml says; a config that drifted is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.readback import meant, read_back, verify_read_back
from premortem.ops.lab.servers import SERVER_NAMES, server_named

PORT = 18_181


def written(tmp_path: Path, name: str, tls: bool = False) -> LabPaths:
    paths = LabPaths(tmp_path / "lab")
    server = server_named(name)
    paths.logs.mkdir(parents=True, exist_ok=True)
    server.make_layout(paths)
    server.write_configs(paths, PORT, rewrite=True, tls=tls)
    return paths


@pytest.mark.parametrize("tls", [False, True])
@pytest.mark.parametrize("name", SERVER_NAMES)
def test_every_flavour_reads_back_as_written(tmp_path: Path, name: str, tls: bool) -> None:
    paths = written(tmp_path, name, tls)
    read = read_back(name, paths, PORT, "127.0.0.1")
    assert read == meant(name, paths)
    assert read["docroot"] == str(paths.current)
    verify_read_back(name, paths, PORT, "127.0.0.1")


def test_a_config_that_drifted_is_named(tmp_path: Path) -> None:
    paths = written(tmp_path, "nginx")
    text = paths.nginx_conf.read_text()
    paths.nginx_conf.write_text(text.replace(str(paths.access_log), "/var/log/elsewhere.log"))
    pool = paths.fpm_pool_conf.read_text()
    paths.fpm_pool_conf.write_text(pool.replace(f"listen = {paths.fpm_socket}", "listen = 9000"))
    with pytest.raises(PremortemError) as raised:
        verify_read_back("nginx", paths, PORT, "127.0.0.1")
    message = str(raised.value)
    assert f"access_log: the lab wrote {paths.access_log}" in message
    assert "reads /var/log/elsewhere.log" in message
    assert "php_fpm_socket" in message and "reads 9000" in message
    assert "error_log:" not in message.replace("php_error_log", "")
