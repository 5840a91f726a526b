"""What an analyzer of `premortem diagnose` is: a problem class judged from the evidence."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from premortem.collectors import EvidenceSet
from premortem.model import Finding
from premortem.problem import ProblemClass


class Analyzer(ProblemClass, ABC):
    """`analyze()` is a pure function of the evidence the collectors gathered."""

    kind = "analyzers"
    # A fallback runs only when no other analyzer explained a failing site (http-error).
    fallback: ClassVar[bool] = False

    @abstractmethod
    def analyze(self, evidence: EvidenceSet) -> list[Finding]: ...
