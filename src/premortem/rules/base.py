"""What a rule of `premortem check` is: a code, a summary, a default severity and `check()`."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from premortem.model import Finding, Severity

if TYPE_CHECKING:
    from premortem.check.context import CheckContext


class Rule(ABC):
    """Base class: a code, a one-line summary, a default severity and `check()`."""

    code: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = "error"
    # Rules that need an option (e.g. --server-config) say so and stay quiet without it.
    needs: ClassVar[str | None] = None

    @abstractmethod
    def check(self, ctx: CheckContext) -> Iterable[Finding]: ...

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")
