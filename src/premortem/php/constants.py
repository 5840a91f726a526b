"""The constants a tree defines, by name, for the include evaluator.

Most files that declare constants declare only class constants (`class Message { const
FORMAT = 'text'; }`): 634 of MediaWiki's files, three quarters of the bytes tree-sitter
would parse for it, and 35 of WordPress's. An include path almost never names one. So a
file whose only needles are `const` declarations is not parsed by tree-sitter during the
check: PHP's outline (php.outline) names the constants it declares, and the file is
parsed here when an include first asks for one of those names. The values, and their
order (the order of the files, then the application knowledge), are what a table built
from every file parsed whole would give.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping

from premortem.php.evaluate import Definition
from premortem.php.syntax import Expr

# The definitions of one file found on demand: (name, expression) pairs; [] when it cannot
# be read any more.
Loader = Callable[[str], list[tuple[str, Expr]]]


def short_name(name: str) -> str:
    """The name a declaration is announced under: `Class::NAME` and `NAME` both as NAME."""
    return name.rpartition("::")[2]


class ConstantTable(Mapping[str, list[Definition]]):
    """Name -> its definitions, in the order of the files that define it (see module doc)."""

    def __init__(self, load: Loader) -> None:
        self._load = load
        # name -> (order, definition), sorted by order; several per file keep their order
        self._found: dict[str, list[tuple[int, Definition]]] = {}
        # announced short name -> (order, path, context) of the files not parsed yet
        self._pending: dict[str, list[tuple[int, str, str]]] = {}
        self._loaded: set[int] = set()

    def add(self, name: str, order: int, definition: Definition) -> None:
        bisect.insort_right(self._found.setdefault(name, []), (order, definition), key=_order)

    def announce(self, names: tuple[str, ...], order: int, path: str, context: str) -> None:
        """The file at `path` (real path `context`) declares constants under these names;
        parsed when one of them is asked for."""
        for name in names:
            self._pending.setdefault(name, []).append((order, path, context))

    def __getitem__(self, name: str) -> list[Definition]:
        self._complete(short_name(name))
        return [definition for _, definition in self._found[name]]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        self._complete(short_name(name))
        return name in self._found

    def __iter__(self) -> Iterator[str]:
        for short in list(self._pending):
            self._complete(short)
        return iter(self._found)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def _complete(self, short: str) -> None:
        for order, path, context in self._pending.pop(short, ()):
            if order in self._loaded:  # announced under several names
                continue
            self._loaded.add(order)
            for name, expr in self._load(path):
                self.add(name, order, Definition(expr, context))


def _order(item: tuple[int, Definition]) -> int:
    return item[0]
