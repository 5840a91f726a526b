"""The file collector on a host given as data (RecordedHost's files), and what analyzers make
of its facts: the same answers as on a real tree, on any machine, with no file read by an
analyzer. Also: a path holding a NUL byte stops at the host (#16)."""

from __future__ import annotations

from pathlib import Path

from premortem.analyzers.docroot_missing import DocrootMissing
from premortem.analyzers.permission_denied import PermissionDenied
from premortem.collectors import EvidenceSet
from premortem.collectors.changes import collect_changes
from premortem.collectors.files import collect_files, site_secrets
from premortem.collectors.logs import LogEvidence, parse_error_line
from premortem.collectors.server import ApacheSite, ServerEvidence
from premortem.collectors.trace import FailedCall, TraceEvidence, parse_strace
from premortem.host import LocalHost, RecordedFile, RecordedHost
from premortem.model import UserIdentity

ROOT = "/srv/site/current"
WP_CONFIG = b"""<?php
define('DB_NAME', 'blog');
define('DB_HOST', 'db.internal:3307');
define('DB_PASSWORD', 'hunter2-secret');
define('AUTH_KEY', 'k3y-of-the-site');
"""


def site_host(**files: RecordedFile) -> RecordedHost:
    return RecordedHost(
        files={
            "/srv/site/releases/7/index.php": RecordedFile(content=b"<?php require 'x.php';\n"),
            "/srv/site/current": RecordedFile(kind="link", target="releases/7"),
            "/srv/site/releases/7/wp-config.php": RecordedFile(content=WP_CONFIG),
            **{f"/srv/site/releases/7/{name}": entry for name, entry in files.items()},
        },
        users={"www-data": UserIdentity("www-data", 33, (33,))},
    )


def denied_open(path: str) -> EvidenceSet:
    log = LogEvidence(error_logs=["/var/log/apache2/error.log"])
    raw = (
        "[Sun Nov 29 06:00:00.000000 2026] [php:error] [pid 42] [client 127.0.0.1:5555] "
        f"PHP Fatal error:  Uncaught Error: Failed opening required '{path}' "
        "(include_path='.:/usr/share/php') in /srv/site/current/index.php:2"
    )
    line = parse_error_line(raw, source=log.error_logs[0])
    assert line is not None
    line.this_request = True
    log.lines.append(line)
    [call] = parse_strace(
        f'1234 06:00:00.000001 openat(AT_FDCWD, "{path}", O_RDONLY) = -1 EACCES (Permission denied)'
    )
    trace = TraceEvidence(failed=[FailedCall(call, True, "EACCES")])
    return EvidenceSet(url="http://127.0.0.1/", docroot=ROOT, logs=log, trace=trace)


def test_facts_from_a_recorded_host_name_the_directory_that_blocks() -> None:
    host = site_host(
        **{
            "lib": RecordedFile(kind="dir", mode=0o700),
            "lib/x.php": RecordedFile(content=b"<?php\n", mode=0o644),
        }
    )
    evidence = denied_open(f"{ROOT}/lib/x.php")
    evidence.files = collect_files(evidence, host)
    assert evidence.files.docroot_real == "/srv/site/releases/7"
    [finding] = PermissionDenied().analyze(evidence)
    assert finding.file == "lib"
    assert finding.fix is not None and finding.fix.commands == (f"chmod o+x {ROOT}/lib",)
    assert f"{ROOT}/lib is drwx------ root:root" in (finding.suggestion or "")


def test_wp_config_facts_are_redacted_and_give_db_host() -> None:
    evidence = EvidenceSet(url="http://127.0.0.1/", docroot=ROOT)
    files = collect_files(evidence, site_host())
    [config] = files.wp_configs
    assert config.defines["DB_HOST"].value == "db.internal:3307"
    assert config.defines["DB_PASSWORD"].value == "[REDACTED]"
    assert "hunter2" not in repr(files)
    assert site_secrets(ROOT, site_host()) == ["hunter2-secret", "k3y-of-the-site"]


def test_a_dangling_docroot_link_is_seen_through_the_host() -> None:
    host = RecordedHost(files={"/srv/site/current": RecordedFile(kind="link", target="releases/9")})
    evidence = EvidenceSet(url="http://127.0.0.1/", docroot=ROOT)
    evidence.files = collect_files(evidence, host)
    [finding] = DocrootMissing().analyze(evidence)
    assert f"{ROOT} -> releases/9, which does not exist" in finding.quoted[-1]


def test_the_server_s_docroot_is_looked_at_without_a_site_config() -> None:
    host = RecordedHost(files={"/srv/site/current": RecordedFile(kind="link", target="gone")})
    server = ServerEvidence(port=80, kind="apache", apache=ApacheSite(docroot=ROOT))
    evidence = EvidenceSet(url="http://127.0.0.1/", server=server)
    evidence.files = collect_files(evidence, host)
    assert evidence.files.docroot_real == "/srv/site/gone"
    [finding] = DocrootMissing().analyze(evidence)
    assert finding.message == f"the DocumentRoot {ROOT} does not exist"


def test_a_nul_byte_path_stops_at_the_host(tmp_path: Path) -> None:
    for host in (LocalHost(), site_host()):
        evidence = denied_open(f"{tmp_path}/a\0b.php")
        evidence.docroot = f"{tmp_path}/\0root"
        files = collect_files(evidence, host)
        assert not files.paths[f"{tmp_path}/a\0b.php"].exists
        assert host.read_bytes(f"{tmp_path}/\0", 10) is None
        assert host.read_tail(f"{tmp_path}/\0", 10)[0] is None
        assert host.disk_usage("/\0") is None
        PermissionDenied().analyze(evidence)  # judged, never raised


def test_local_and_recorded_hosts_agree_on_a_tree(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"one\ntwo\n")
    (tmp_path / "link").symlink_to("d/f")
    (tmp_path / "dangling").symlink_to("nowhere")
    local = LocalHost()
    recorded = RecordedHost(
        files={
            f"{tmp_path}/d/f": RecordedFile(content=b"one\ntwo\n"),
            f"{tmp_path}/link": RecordedFile(kind="link", target="d/f"),
            f"{tmp_path}/dangling": RecordedFile(kind="link", target="nowhere"),
        }
    )
    for name in ("d", "d/f", "link", "dangling", "absent"):
        path = f"{tmp_path}/{name}"
        one, two = local.stat(path), recorded.stat(path)
        assert (one.exists, one.kind, one.is_link, one.link_target) == (
            two.exists,
            two.kind,
            two.is_link,
            two.link_target,
        ), name
        assert local.read_lines(path, 100) == recorded.read_lines(path, 100)
    assert local.realpath(f"{tmp_path}/link") == recorded.realpath(f"{tmp_path}/link")
    assert local.listdir(str(tmp_path)) == recorded.listdir(str(tmp_path))
    assert local.read_tail(f"{tmp_path}/d/f", 5) == recorded.read_tail(f"{tmp_path}/d/f", 5)


def test_changes_are_collected_from_a_recorded_host() -> None:
    switched = 1_799_990_000.0
    host = RecordedHost(
        files={
            "/srv/site/current": RecordedFile(kind="link", target="releases/8", mtime=switched),
            "/srv/site/releases/8/index.php": RecordedFile(mtime=switched - 60),
            "/srv/site/releases/8/wp-settings.php": RecordedFile(mtime=switched + 30),
            "/srv/site/releases/8/.git/HEAD": RecordedFile(mtime=switched + 40),
            "/srv/site/releases/7/index.php": RecordedFile(content=b"old"),
            "/srv/site/releases/7/gone.php": RecordedFile(),
        }
    )
    changes = collect_changes(ROOT, host=host)
    assert changes.since == switched and "last deploy" in changes.basis
    assert [(c.path, c.kind) for c in changes.changed] == [("wp-settings.php", "modified")]
    assert changes.lint == []  # php -l runs only on this machine's own files
    diff = collect_changes("/srv/site/releases/8", baseline="/srv/site/releases/7", host=host)
    assert sorted((c.path, c.kind) for c in diff.changed) == [  # .git/ is never compared
        ("gone.php", "removed"),
        ("index.php", "modified"),
        ("wp-settings.php", "added"),
    ]
