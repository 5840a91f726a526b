from __future__ import annotations

from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.siteconfig import SiteConfig, read_site_config, write_site_config


def test_round_trip_keeps_extra_tables(tmp_path: Path) -> None:
    config = SiteConfig(
        url="http://127.0.0.1:8080/",
        site_root="/srv/x/site",
        docroot="/srv/x/site/current",
        extra={"lab": {"port": 8080}},
    )
    path = tmp_path / "premortem.toml"
    write_site_config(config, path)
    again = read_site_config(path)
    assert again == config
    assert again.extra["lab"]["port"] == 8080


def test_missing_keys_are_named(tmp_path: Path) -> None:
    path = tmp_path / "premortem.toml"
    path.write_text('url = "http://127.0.0.1/"\n')
    with pytest.raises(PremortemError, match="site_root, docroot"):
        read_site_config(path)


def test_malformed_toml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "premortem.toml"
    path.write_bytes(b"url = \xff\n")
    with pytest.raises(PremortemError, match="not valid TOML"):
        read_site_config(path)
