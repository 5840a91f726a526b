"""What a fault scenario is: a name, a description, the expected diagnosis, an inject step."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from premortem.problem import ProblemClass

if TYPE_CHECKING:
    from premortem.ops.lab.core import Lab
    from premortem.ops.lab.journal import FaultJournal


@dataclass(frozen=True)
class Expected:
    """The answer a diagnosis should give (the fault benchmark of issue #7 scores it).

    diagnosis: the problem class; file/line: where, relative to the release directory
    (None where the fault has no file, e.g. a stopped service); static: `premortem check`
    can see it in the release tree before deploy.
    """

    diagnosis: str
    file: str | None = None
    line: int | None = None
    static: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Scenario(ProblemClass, ABC):
    """One fault. Subclasses set the class attributes and implement inject.

    `code` is the name `lab break` takes, `summary` what `lab break --list` says of it.

    inject changes the lab only through the journal (so `lab repair` can undo it) and
    leaves the site broken the way `symptom` says: GET / answers `http_status`, or
    nothing at all when http_status is None (connection refused).
    """

    kind = "scenarios"
    expected: ClassVar[Expected]
    http_status: ClassVar[int | None]
    # A flavour whose server answers otherwise (Apache's proxy says 503 where nginx says 502).
    http_status_on: ClassVar[dict[str, int | None]] = {}
    # Text the broken answer's body holds (e.g. PHP source served as text), when telling.
    body_contains: ClassVar[str | None] = None
    # Position in `lab break --list` (the seed first).
    order: ClassVar[int] = 100
    # The lab flavours (web servers) the fault applies to; `lab break --list` shows a lab
    # only its own.
    servers: ClassVar[tuple[str, ...]] = ("apache",)
    # The path that answers `http_status`; a fault of one page's code (`PartialFault`) leaves
    # `/` answering 200 and breaks only this one.
    broken_path: ClassVar[str] = "/"
    # A fault of the site's certificate: applies only to a TLS lab (`lab up --tls`).
    tls_only: ClassVar[bool] = False

    @abstractmethod
    def inject(self, lab: Lab, journal: FaultJournal) -> None: ...

    def status_on(self, server: str) -> int | None:
        """What GET / answers on a lab of flavour `server` once the fault is in."""
        return self.http_status_on.get(server, self.http_status)

    @property
    def name(self) -> str:
        return self.code

    @property
    def description(self) -> str:
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "expected": self.expected.to_dict(),
            "http_status": self.http_status,
            "servers": list(self.servers),
            "tls_only": self.tls_only,
            "broken_path": self.broken_path,
        }
