"""adopt's edits, over small config trees (tests/fixtures/adopt/): Apache's DocumentRoot and
<Directory>, nginx's root, premortem.toml's site_root and docroot; and what adopt refuses.
Nothing here starts a server: the plan only reads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.ops.adopt import plan_adopt
from premortem.ops.adopt.plan import config_file_edit
from premortem.ops.adopt.vhost import docroot_edits, repoint_apache, repoint_nginx

FIXTURES = Path(__file__).parent / "fixtures" / "adopt"
OLD = "/var/www/blog"
NEW = "/var/www/blog.premortem/current"


def copy_fixture(kind: str, tmp_path: Path, www: str = "/var/www") -> Path:
    """The fixture tree under tmp_path (its /var/www paths made `www`), sites enabled by
    symlinks to sites-available as a2ensite makes them."""
    tree = tmp_path / kind
    shutil.copytree(FIXTURES / kind, tree)
    for path in tree.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text().replace("/var/www", www))
    if kind == "apache":
        (tree / "sites-enabled").mkdir()
        for site in ("blog.conf", "other.conf"):
            (tree / "sites-enabled" / site).symlink_to(f"../sites-available/{site}")
    return tree


def snapshot(tree: Path) -> dict[str, bytes | str]:
    return {
        str(p.relative_to(tree)): os.readlink(p) if p.is_symlink() else p.read_bytes()
        for p in sorted(tree.rglob("*"))
        if p.is_symlink() or p.is_file()
    }


def test_apache_docroot_and_its_directory_sections_are_repointed(tmp_path: Path) -> None:
    tree = copy_fixture("apache", tmp_path)
    before = snapshot(tree)
    edits = docroot_edits("apache", tree / "apache2.conf", OLD, NEW)
    assert snapshot(tree) == before  # planning writes nothing
    by_name = {edit.path.name: edit for edit in edits}
    assert sorted(by_name) == ["blog-uploads.conf", "blog.conf"]
    blog = by_name["blog.conf"]
    # The real file, not the sites-enabled link (a2dissite must keep working).
    assert blog.path == tree / "sites-available" / "blog.conf"
    assert blog.display == str(tree / "sites-enabled" / "blog.conf")
    changed = [
        (a, b)
        for a, b in zip(
            blog.before.decode().splitlines(), blog.after.decode().splitlines(), strict=True
        )
        if a != b
    ]
    assert changed == [
        ("\tDocumentRoot /var/www/blog", f"\tDocumentRoot {NEW}"),
        ("\t<Directory /var/www/blog/>", f"\t<Directory {NEW}/>"),
        ('\tDocumentRoot "/var/www/blog"', f'\tDocumentRoot "{NEW}"'),
    ]
    uploads = by_name["blog-uploads.conf"].after.decode()
    assert f'<Directory "{NEW}/wp-content/uploads">' in uploads
    # The sibling site, the Alias and the other vhost are not the docroot: untouched.
    assert "<Directory /var/www/blog-old>" in blog.after.decode()
    assert "Alias /static /var/www/blog/static" in blog.after.decode()
    assert f"--- a/{blog.display}" in blog.diff() and f"+\tDocumentRoot {NEW}" in blog.diff()


def test_apache_docroot_written_through_a_variable_is_refused(tmp_path: Path) -> None:
    tree = copy_fixture("apache", tmp_path)
    vhost = tree / "sites-available" / "other.conf"
    vhost.write_text(
        f"Define BLOG {OLD}\n<VirtualHost *:8080>\n    DocumentRoot ${{BLOG}}\n</VirtualHost>\n"
    )
    with pytest.raises(PremortemError, match=r"sites-enabled/other.conf:3 .*by hand"):
        docroot_edits("apache", tree / "apache2.conf", OLD, NEW)


def test_a_docroot_no_vhost_serves_is_refused(tmp_path: Path) -> None:
    tree = copy_fixture("apache", tmp_path)
    with pytest.raises(PremortemError, match="no `DocumentRoot /srv/nothing`"):
        docroot_edits("apache", tree / "apache2.conf", "/srv/nothing", NEW)


def test_nginx_root_is_repointed_and_nothing_else(tmp_path: Path) -> None:
    tree = copy_fixture("nginx", tmp_path)
    before = snapshot(tree)
    edits = docroot_edits("nginx", tree / "nginx.conf", OLD, NEW)
    assert snapshot(tree) == before
    assert [edit.path for edit in edits] == [tree / "sites-enabled" / "blog"]
    old_lines = edits[0].before.decode().splitlines()
    new_lines = edits[0].after.decode().splitlines()
    assert [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b] == [
        (f"    root {OLD};  # WordPress", f"    root {NEW};  # WordPress")
    ]
    assert "root /var/www/other;" in new_lines[-2]
    assert f"alias {OLD}/static/;" in edits[0].after.decode()


def test_line_edits_keep_quotes_and_leave_lookalikes() -> None:
    apache = repoint_apache(
        'DocumentRoot "/srv/a"\n# DocumentRoot /srv/a\n'
        '<DirectoryMatch "^/srv/a">\nDocumentRoot /srv/ab\n',
        "/srv/a",
        "/srv/a.premortem/current",
    )
    assert apache.lines == [1]
    assert apache.text.startswith('DocumentRoot "/srv/a.premortem/current"\n')
    nginx = repoint_nginx("root '/srv/a/';\n  root /srv/a;\n", "/srv/a", "/n")
    assert nginx.text == "root '/n/';\n  root /n;\n" and nginx.lines == [1, 2]


def write_config(path: Path, docroot: Path, server_config: Path, **extra: str) -> None:
    lines = [
        "# premortem.toml for http://127.0.0.1:8080/, written by `premortem init`",
        "#   docroot: somewhere:4",
        'url = "http://127.0.0.1:8080/"',
        f'site_root = "{extra.get("site_root", docroot)}"',
        f'docroot = "{docroot}"',
        'server = "apache"',
        f'server_config = "{server_config}"',
        f'state_dir = "{path.parent / "state"}"',
        "",
        "[lab]",
        'docroot = "not this one"',
        "",
    ]
    path.write_text("\n".join(lines))


def test_config_file_edit_changes_two_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    config = tmp_path / "premortem.toml"
    write_config(config, tmp_path / "blog", tmp_path / "apache2.conf")
    edit = config_file_edit(config, "/x/blog.premortem", "/x/blog.premortem/current")
    before, after = edit.before.decode().splitlines(), edit.after.decode().splitlines()
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        (f'site_root = "{tmp_path / "blog"}"', 'site_root = "/x/blog.premortem"'),
        (f'docroot = "{tmp_path / "blog"}"', 'docroot = "/x/blog.premortem/current"'),
    ]
    assert config.read_bytes() == edit.before


def in_place_site(tmp_path: Path) -> tuple[Path, Path]:
    """A WordPress-like docroot under tmp_path/www served by the Apache fixture; its
    premortem.toml as `premortem init` writes it."""
    www = tmp_path / "www"
    docroot = www / "blog"
    (docroot / "wp-content" / "uploads").mkdir(parents=True)
    (docroot / "wp-load.php").write_text("<?php\n")
    (docroot / "wp-config.php").write_text("<?php define('DB_NAME', 'blog');\n")
    tree = copy_fixture("apache", tmp_path, str(www))
    config = tmp_path / "premortem.toml"
    write_config(config, docroot, tree / "apache2.conf")
    return config, docroot


def test_plan_names_every_change_and_writes_nothing(tmp_path: Path) -> None:
    config, docroot = in_place_site(tmp_path)
    before = snapshot(tmp_path)
    plan = plan_adopt(config)
    assert snapshot(tmp_path) == before
    assert plan.site_root == docroot.with_name("blog.premortem")
    assert plan.new_config.docroot == str(plan.site_root / "current")
    assert {edit.path.name for edit in plan.server_edits} == {"blog.conf", "blog-uploads.conf"}
    assert f'+docroot = "{plan.site_root / "current"}"' in plan.diff()
    assert any(str(docroot) in step and "left" in step for step in plan.describe())
    assert plan_adopt(config, tmp_path / "elsewhere").site_root == tmp_path / "elsewhere"


def test_plan_refuses_what_adopt_cannot_do(tmp_path: Path) -> None:
    config, docroot = in_place_site(tmp_path)
    docroot.with_name("blog.premortem").mkdir()
    with pytest.raises(PremortemError, match=r"blog\.premortem exists"):
        plan_adopt(config)
    with pytest.raises(PremortemError, match="beside the docroot"):
        plan_adopt(config, docroot / "releases")
    (docroot / "wp-config.php").write_text(
        "<?php\ndefine('WP_CONTENT_DIR', __DIR__ . '/wp-content');\n"
    )
    with pytest.raises(PremortemError, match=r"shared/wp-config.php:2 uses __DIR__"):
        plan_adopt(config, tmp_path / "elsewhere")
    write_config(config, docroot, tmp_path / "apache" / "apache2.conf", site_root="/srv/x")
    with pytest.raises(PremortemError, match="in-place docroot"):
        plan_adopt(config)


def test_an_adopted_site_is_not_adopted_again(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "releases" / "one").mkdir(parents=True)
    (root / "current").symlink_to("releases/one")
    config = tmp_path / "premortem.toml"
    write_config(config, root / "current", tmp_path / "apache2.conf", site_root=str(root))
    with pytest.raises(PremortemError, match="already a releases/shared/current layout"):
        plan_adopt(config)


def adopt_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", "adopt", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_dry_run_prints_the_plan_and_diffs_and_changes_nothing(tmp_path: Path) -> None:
    config, _docroot = in_place_site(tmp_path)
    before = snapshot(tmp_path)
    proc = adopt_cli("--config", str(config), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "+\tDocumentRoot " in proc.stdout and "+docroot = " in proc.stdout
    assert "nothing changed" in proc.stderr
    assert snapshot(tmp_path) == before
    refused = adopt_cli("--config", str(config))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert snapshot(tmp_path) == before


def test_the_site_answers_as_before_only_with_the_same_statuses_and_sizes() -> None:
    from premortem.ops.adopt.run import differs
    from premortem.ops.deploy.stage import SmokeResult

    before = [
        SmokeResult("/", 200, 0.1, size=50_000),
        SmokeResult("/wp-login.php", 200, 0.1, size=4000),
    ]
    assert differs(before, [SmokeResult("/", 200, 0.1, size=51_000), before[1]]) is None
    moved = differs(before, [SmokeResult("/", 404, 0.1, size=50_000), before[1]])
    assert moved == "/ answered 404, before 200"
    assert differs(before, [before[0], SmokeResult("/wp-login.php", 200, 0.1, size=1500)]) == (
        "/wp-login.php answered 1500 bytes, before 4000"
    )
    failing = differs(before, [SmokeResult("/", None, 1.0, error="ReadError"), before[1]])
    assert failing == "/ answered ReadError, before 200"
