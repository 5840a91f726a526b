"""What a rule of `premortem check` is: a code, a summary, a default severity and `check()`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from premortem.model import Finding
from premortem.problem import ProblemClass

if TYPE_CHECKING:
    from premortem.check.context import CheckContext


class Rule(ProblemClass, ABC):
    """A rule of `premortem check`: `check()` reports the findings of one release tree."""

    kind = "rules"
    # Rules that need an option (e.g. --server-config) say so and stay quiet without it.
    needs: ClassVar[str | None] = None

    @abstractmethod
    def check(self, ctx: CheckContext) -> Iterable[Finding]: ...
