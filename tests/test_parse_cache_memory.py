"""What keeps `premortem check` of a million small files in bounded memory (#16), and that
it changes neither the findings nor the cache's behaviour: entries keep a packed stat,
files with equal facts share one object (never changed in place), and the parse cache is
three objects for a whole tree (php.parsecache)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from premortem import registry
from premortem.cachedir import tree_cache_file
from premortem.check.context import CheckOptions
from premortem.check.runner import run_check
from premortem.php import parsecache, parsing
from premortem.php.parsing import parse_tree
from premortem.php.syntax import FileFacts
from premortem.php.walk import STAT_SIGNATURE_BYTES, walk_tree


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cache").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _tree(site: Path, count: int) -> Path:
    """`count` files that differ (a function each) but have equal facts (one include at
    the same place), and a lib.php they all include."""
    (site / "d").mkdir(parents=True)
    (site / "lib.php").write_text("<?php\n")
    for index in range(count):
        (site / "d" / f"f{index:03}.php").write_text(
            f"<?php\nfunction f_{index}() {{ return {index}; }}\n"
            "require_once __DIR__ . '/../lib.php';\n"
        )
    return site


def test_an_entry_keeps_every_stat_field_the_rules_and_caches_use(tmp_path: Path) -> None:
    (tmp_path / "a.php").write_text("<?php\n")
    os.chmod(tmp_path / "a.php", 0o640)
    entry = walk_tree(str(tmp_path)).entries[0]
    real = os.stat(tmp_path / "a.php")
    assert entry.st is not None
    for name in ("st_size", "st_mtime_ns", "st_ctime_ns", "st_ino", "st_dev", "st_mode"):
        assert getattr(entry.st, name) == getattr(real, name), name
    assert (entry.st.st_uid, entry.st.st_gid, entry.size) == (real.st_uid, real.st_gid, 6)
    assert not hasattr(entry, "__dict__")  # slotted: a million of them


def test_a_file_dated_after_2262_is_checked(tmp_path: Path) -> None:
    """Its mtime does not fit 64 bits of nanoseconds (touch -d 2400-01-01)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.php").write_text("<?php\nrequire __DIR__ . '/gone.php';\n")
    year_2400 = 13_569_465_600
    try:
        os.utime(site / "index.php", (year_2400, year_2400))
    except OSError:
        pytest.skip("this file system cannot date a file in 2400")
    if os.stat(site / "index.php").st_mtime_ns < 2**63:
        pytest.skip("this file system keeps a smaller date")
    result = run_check(site)
    assert [f.rule for f in result.findings] == ["missing-include"]
    assert run_check(site).stats["from_cache"] == 1


def test_files_with_equal_facts_share_them_and_a_verdict_does_not_leak(tmp_path: Path) -> None:
    site = _tree(tmp_path / "site", 60)  # more than PARALLEL_THRESHOLD: parsed by worker processes
    parsed = parse_tree(walk_tree(str(site)), use_cache=False)
    files = [f for f in parsed.files if f.entry.rel.startswith("d/")]
    assert len(files) == 60 and len({id(f.facts) for f in files}) == 1
    parsed.set_lint(files[0], (False, "syntax error, unexpected end of file", 3))
    assert files[0].facts.php_lint is not None
    assert all(f.facts.php_lint is None for f in files[1:])
    assert parsed.dirty
    assert files[0].facts.includes == files[1].facts.includes


def test_the_cache_of_an_unchanged_tree_is_not_written_again(tmp_path: Path) -> None:
    site = _tree(tmp_path / "site", 5)
    first = parse_tree(walk_tree(str(site)))
    assert (first.parsed, first.from_cache, first.dirty) == (6, 0, True)
    first.save_cache()
    second = parse_tree(walk_tree(str(site)))
    assert (second.parsed, second.from_cache, second.dirty) == (0, 6, False)
    assert [f.entry.rel for f in second.files] == sorted(f.entry.rel for f in second.files)
    os.unlink(site / "d" / "f002.php")
    third = parse_tree(walk_tree(str(site)))
    assert (third.parsed, third.from_cache, third.dirty) == (0, 5, True)


def test_files_whose_stat_changed_are_found_by_content(tmp_path: Path) -> None:
    """More of them than are looked up by scanning: the dict of hashes gives the same."""
    count = parsecache.SCANS * 3
    site = _tree(tmp_path / "site", count)
    first = parse_tree(walk_tree(str(site)))
    first.save_cache()
    for path in (site / "d").iterdir():
        path.write_bytes(path.read_bytes())  # same bytes, new mtime and ctime
    (site / "d" / "f000.php").write_text("<?php\nrequire __DIR__ . '/other.php';\n")
    again = parse_tree(walk_tree(str(site)))
    assert (again.parsed, again.from_cache, again.dirty) == (1, count, True)
    changed = next(f for f in again.files if f.entry.rel == "d/f000.php")
    assert changed.facts.includes[0].expression == "__DIR__ . '/other.php'"


def test_a_new_release_finds_its_siblings_files_by_content(tmp_path: Path) -> None:
    first = _tree(tmp_path / "releases" / "1", parsecache.SCANS + 4)
    parse_tree(walk_tree(str(first))).save_cache()
    second = tmp_path / "releases" / "2"
    shutil.copytree(first, second)
    (second / "lib.php").write_text("<?php\n// release 2\n")
    parsed = parse_tree(walk_tree(str(second)))
    assert (parsed.parsed, parsed.from_cache) == (1, parsecache.SCANS + 4)


def test_a_content_hash_is_matched_only_where_records_keep_it() -> None:
    key = bytes(range(16))
    facts = [FileFacts(), FileFacts(php_lint=(True, None, None))]
    records = [
        # The key's bytes inside a stat signature: not a match.
        (key + bytes(STAT_SIGNATURE_BYTES - 16), bytes(16), False, facts[0]),
        (bytes(STAT_SIGNATURE_BYTES), key, True, facts[1]),
    ]
    data = parsecache.pack(
        (f"f{index}.php", signature, hash_, invalid, file_facts)
        for index, (signature, hash_, invalid, file_facts) in enumerate(records)
    )
    stored = parsecache.Stored.of(data)
    assert stored is not None and stored.count == 2
    assert stored.facts_of(key) == (True, facts[1])
    for _ in range(parsecache.SCANS):
        stored.facts_of(b"\xff" * 16)
    assert stored.facts_of(key) == (True, facts[1])  # through the dict now
    assert stored.facts_of(b"\xfe" * 16) is None


def test_the_cursor_finds_stored_paths_in_order_and_not_others() -> None:
    cursor = parsecache.Cursor("\0".join(["a.php", "b/c.php", "b/d.php", "e.php"]))
    asked = ["0.php", "a.php", "b/a.php", "b/d.php", "c.php", "e.php", "f.php"]
    assert [cursor.find(rel) for rel in asked] == [-1, 0, -1, 2, -1, 3, -1]
    assert parsecache.Cursor("").find("a.php") == -1


def test_a_cache_of_another_format_is_ignored(tmp_path: Path) -> None:
    assert parsecache.Stored.of({"facts": {}, "stat": {}}) is None
    assert parsecache.Stored.of({"rels": "a\0b", "records": b"", "facts": []}) is None
    site = _tree(tmp_path / "site", 2)
    path = tree_cache_file(walk_tree(str(site)).root_real)
    parsing.save_cache(path, {"facts": {b"x" * 16: FileFacts()}, "stat": {}})
    assert parse_tree(walk_tree(str(site))).parsed == 3


def test_check_findings_are_the_same_from_the_cache(tmp_path: Path) -> None:
    site = _tree(tmp_path / "site", 60)
    (site / "d" / "f007.php").write_text("<?php\nrequire __DIR__ . '/gone.php';\n")
    options = CheckOptions()
    cold = run_check(site, CheckOptions(use_cache=False), rules=None)
    first = run_check(site, options)
    (site / "d" / "f001.php").write_bytes((site / "d" / "f001.php").read_bytes())
    warm = run_check(site, options, rules=registry.rules())  # not answered: parsed from cache
    assert warm.stats["from_cache"] == 61 and warm.stats["parsed"] == 0
    assert cold.findings == first.findings == warm.findings
    assert [f.file for f in cold.findings] == ["d/f007.php"]


def test_files_with_different_facts_share_their_equal_includes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for index in range(3):
        (site / f"f{index}.php").write_text(
            "<?php\nrequire_once __DIR__ . '/lib.php';\n"
            f"if (file_exists(__DIR__ . '/x{index}.php')) include __DIR__ . '/x{index}.php';\n"
        )
    files = parse_tree(walk_tree(str(site)), use_cache=False).files
    assert len({id(f.facts) for f in files}) == 3
    assert len({id(f.facts.includes[0]) for f in files}) == 1
    assert len({f.facts.includes[1].expression for f in files}) == 3
