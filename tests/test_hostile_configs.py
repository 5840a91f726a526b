"""Hostile server configs: Include cycles, wildcards matching thousands of files, binaries,
files too large, files that never end. Each costs a clear problem and a bounded read; the
rest of the config is still read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from premortem.readers import apache, phpfpm


def _apache(base: Path, main: str) -> apache.ApacheConfig:
    (base / "apache2.conf").write_text(main)
    return apache.read_apache_config(str(base / "apache2.conf"))


def test_apache_include_cycle_is_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text(f"Include {tmp_path}/b.conf\nServerName a.example\n")
    (tmp_path / "b.conf").write_text(f"Include {tmp_path}/a.conf\nServerAdmin b@example\n")
    config = _apache(tmp_path, f"Include {tmp_path}/a.conf\nListen 8080\n")
    cycles = [p for p in config.problems if "Include cycle" in p[3]]
    assert len(cycles) == 1
    assert {d.name for d in config.directives} >= {"ServerName", "ServerAdmin", "Listen"}


def test_apache_wildcard_over_thousands_of_files_stops_at_the_bound_once(
    tmp_path: Path,
) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for index in range(apache.MAX_FILES + 700):
        (many / f"site{index:05}.conf").write_text(f"ServerAlias s{index}.example\n")
    config = _apache(tmp_path, f"IncludeOptional {many}/*.conf\nListen 8080\n")
    assert len(config.files) == apache.MAX_FILES
    bounds = [p for p in config.problems if "reaches more than" in p[3]]
    assert len(bounds) == 1, "one message, not one per file left unread"
    assert len(config.problems) == 1
    assert config.named("Listen"), "the directives after the Include are still read"


def test_apache_binaries_matched_are_counted_not_listed(tmp_path: Path) -> None:
    bins = tmp_path / "bin"
    bins.mkdir()
    for index in range(40):
        # A NUL in the first bytes, then 1 MiB the reader must not read.
        (bins / f"b{index:02}").write_bytes(b"\x7fELF\0" + b"x" * (1 << 20))
    config = _apache(tmp_path, f"IncludeOptional {bins}/*\nListen 8080\n")
    named = [p for p in config.problems if "NUL bytes" in p[3]]
    assert len(named) == apache.MAX_BINARIES_SAID
    assert any("30 more binary files" in p[3] for p in config.problems)
    assert config.named("Listen")


def test_the_stage_configs_inlined_includes_have_the_same_bounds(tmp_path: Path) -> None:
    # deploy's stage config inlines every Include: `IncludeOptional /*` read every file of
    # /bin, /etc and /proc for 20 s (found by make fuzz) before it shared the reader's bounds.
    many = tmp_path / "many"
    many.mkdir()
    for index in range(apache.MAX_FILES + 100):
        (many / f"site{index:05}.conf").write_text(f"ServerAlias s{index}.example\n")
    for index in range(30):
        (many / f"z{index:02}.bin").write_bytes(b"\x7fELF\0" + b"x" * 4096)
    (tmp_path / "apache2.conf").write_text(f"IncludeOptional {many}/*\nListen 8080\n")
    root, lines, problems = apache.inline_includes(str(tmp_path / "apache2.conf"), "/etc/x")
    assert root == "/etc/x"
    aliases = [line for line in lines if line.startswith("ServerAlias")]
    assert len(aliases) == apache.MAX_FILES - 1  # the main file is one of them
    assert lines[-1] == "Listen 8080", "the lines after the Include are still there"
    assert [p[3] for p in problems] == [apache.EXHAUSTED]  # once, binaries not even opened


def test_a_nul_in_an_include_pattern_names_no_file(tmp_path: Path) -> None:
    # os.scandir raised ValueError (a traceback) on it (found by make fuzz): through an
    # envvars value, since a config file holding a NUL is refused whole.
    (tmp_path / "envvars").write_bytes(b"export APACHE_CONFDIR=/etc/\0x\n")
    main = "Include ${APACHE_CONFDIR}/*.conf\nIncludeOptional ${APACHE_CONFDIR}/*\nListen 8080\n"
    config = _apache(tmp_path, main)
    assert [p[3] for p in config.problems] == [
        "Include /etc/\0x/*.conf: no such file (httpd will not start)"
    ]
    assert config.named("Listen")
    (tmp_path / "apache2.conf").write_bytes(b"INCLUDEOPTIONAL \0/*\nListen 8080\n")
    _root, lines, problems = apache.inline_includes(str(tmp_path / "apache2.conf"), "/etc/x")
    assert lines == []
    assert [p[3] for p in problems] == ["holds NUL bytes: not a config file"]


def test_apache_total_bytes_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apache, "MAX_TOTAL_BYTES", 64 * 1024)
    big = tmp_path / "big"
    big.mkdir()
    for index in range(20):
        (big / f"{index:02}.conf").write_text("ServerAlias x.example\n" * 1000)  # 22 KB each
    config = _apache(tmp_path, f"Include {big}/*.conf\n")
    assert 2 <= len(config.files) <= 5
    assert any("in all" in p[3] for p in config.problems)


def test_apache_file_that_never_ends_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # a writer that never closes: a blocking read waits
    try:
        config = _apache(tmp_path, f"Include {fifo}\nListen 8080\n")
    finally:
        os.close(writer)
    assert config.named("Listen")


def test_apache_sparse_2gb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.conf"
    with huge.open("wb") as handle:
        handle.write(b"ServerAlias a.example\n")
        handle.truncate(2 * 1024**3)  # sparse: 2 GB of NULs after the first line
    config = _apache(tmp_path, f"Include {huge}\nListen 8080\n")
    assert any(p[0] == str(huge) for p in config.problems)
    assert config.named("Listen")


def _fpm(base: Path, text: str) -> tuple[list[phpfpm.PhpFpmPool], list[str]]:
    (base / "php-fpm.conf").write_text(text)
    problems: list[str] = []
    _settings, pools = phpfpm.read_fpm_config(str(base / "php-fpm.conf"), problems)
    return pools, problems


def test_phpfpm_include_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "www.conf").write_text(
        f"[www]\nlisten = /run/php/www.sock\ninclude={tmp_path}/www.conf\nuser = www-data\n"
    )
    pools, problems = _fpm(tmp_path, f"[global]\ninclude={tmp_path}/www.conf\n")
    assert [p.name for p in pools] == ["www"]
    assert pools[0].user == "www-data", "the lines after the cyclic include are read"
    assert sum("cycle" in p for p in problems) == 1


def test_phpfpm_glob_over_thousands_of_files_is_bounded(tmp_path: Path) -> None:
    pools_dir = tmp_path / "pool.d"
    pools_dir.mkdir()
    for index in range(phpfpm.MAX_FILES + 800):
        (pools_dir / f"p{index:05}.conf").write_text(f"[p{index}]\nlisten = 127.0.0.1:{index}\n")
    pools, problems = _fpm(tmp_path, f"[global]\ninclude={pools_dir}/*.conf\n")
    assert len(pools) == phpfpm.MAX_FILES - 1  # the main file counts
    assert len(problems) == 1 and "the rest not read" in problems[0]


def test_phpfpm_binaries_huge_files_and_fifos_are_refused(tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "a-binary").write_bytes(b"\0ELF" + b"x" * (1 << 20))
    with (inc / "b-huge").open("wb") as handle:
        handle.write(b"[huge]\nlisten = /run/huge.sock\n")
        handle.truncate(2 * 1024**3)
    (inc / "b-large").write_text("; a comment line of text\n" * 400_000)  # 10 MB, no NUL
    os.mkfifo(inc / "c-fifo")
    writer = os.open(inc / "c-fifo", os.O_RDWR)
    (inc / "d-www.conf").write_text("[www]\nlisten = /run/php/www.sock\n")
    try:
        pools, problems = _fpm(tmp_path, f"[global]\ninclude={inc}/*\n")
    finally:
        os.close(writer)
    assert [p.name for p in pools] == ["www"]
    assert any("a-binary holds NUL bytes" in p for p in problems)
    assert any("b-huge" in p for p in problems), "2 GB of NULs after one line: refused"
    assert any("b-large" in p and "larger than 8 MiB" in p for p in problems)


def test_nginx_include_glob_over_fifos_and_binaries_is_bounded(tmp_path: Path) -> None:
    from premortem.readers import nginx

    inc = tmp_path / "inc"
    inc.mkdir()
    os.mkfifo(inc / "a-fifo")
    writer = os.open(inc / "a-fifo", os.O_RDWR)  # crossplane's blocking read waited forever
    for index in range(30):
        (inc / f"b-bin{index:02}").write_bytes(b"\x7fELF\0" + b"}" * (1 << 20))
    (inc / "c-site.conf").write_text("server { listen 8080; root /srv/www; }\n")
    (tmp_path / "nginx.conf").write_text(f"events {{}}\nhttp {{\n include {inc}/*;\n}}\n")
    try:
        config = nginx.read_nginx_config(str(tmp_path / "nginx.conf"))
    finally:
        os.close(writer)
    assert len(config.servers) == 1, "the file after the FIFO and the binaries is read"
    assert sum("holds NUL bytes" in p for p in config.problems) == apache.MAX_BINARIES_SAID
    assert any("20 more binary files" in p for p in config.problems)


def test_nginx_total_files_bounded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from premortem.readers import nginx

    monkeypatch.setattr(nginx, "MAX_FILES", 50)
    inc = tmp_path / "inc"
    inc.mkdir()
    for index in range(200):
        (inc / f"s{index:03}.conf").write_text(f"server {{ listen {8000 + index}; }}\n")
    (tmp_path / "nginx.conf").write_text(f"events {{}}\nhttp {{\n include {inc}/*.conf;\n}}\n")
    config = nginx.read_nginx_config(str(tmp_path / "nginx.conf"))
    assert len(config.servers) == 49  # nginx.conf is the first of the 50
    assert sum("the config reaches more than 50 files" in p for p in config.problems) == 1
