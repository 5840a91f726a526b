"""php.constants: files of constants are parsed when an include asks for one of their
names, and the definitions keep the order a table of every file parsed whole has."""

from __future__ import annotations

from premortem.php.constants import ConstantTable
from premortem.php.evaluate import Definition
from premortem.php.syntax import Expr


def _string(text: str) -> Expr:
    return ("s", text, f"'{text}'")


def test_a_pending_file_is_loaded_once_when_one_of_its_names_is_asked() -> None:
    loaded: list[str] = []

    def load(path: str) -> list[tuple[str, Expr]]:
        loaded.append(path)
        return [("Paths::LIB", _string("/lib")), ("Paths::VIEWS", _string("/views"))]

    table = ConstantTable(load)
    table.announce(("LIB", "VIEWS"), 0, "/t/paths.php", "/t/paths.php")
    table.add("ABSPATH", 1, Definition(_string("/t/"), "/t/index.php"))
    assert table.get("ABSPATH") == [Definition(_string("/t/"), "/t/index.php")]
    assert loaded == []  # no name of paths.php asked yet
    assert table.get("Other::LIB", []) == []  # same short name: loaded, not defined there
    assert loaded == ["/t/paths.php"]
    assert table.get("Paths::VIEWS") == [Definition(_string("/views"), "/t/paths.php")]
    assert loaded == ["/t/paths.php"]  # once, though announced under two names
    assert set(table) == {"ABSPATH", "Paths::LIB", "Paths::VIEWS"}


def test_definitions_keep_the_order_of_their_files_whenever_loaded() -> None:
    # The resolver prefers definitions pointing into the tree, then takes them in order:
    # a file loaded late must still come before the files after it.
    table = ConstantTable(lambda path: [("VERSION", _string(path))])
    table.add("VERSION", 2, Definition(_string("c"), "c"))
    table.announce(("VERSION",), 0, "a", "a")
    table.add("VERSION", 3, Definition(_string("knowledge"), "k"))
    table.announce(("VERSION",), 1, "b", "b")
    assert [d.context for d in table["VERSION"]] == ["a", "b", "c", "k"]
    assert "VERSION" in table and "MISSING" not in table
    assert len(table) == 1
