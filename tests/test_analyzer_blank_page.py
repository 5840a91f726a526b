"""blank-page on text that is not valid Unicode (#16): a page or recording holding lone
surrogates is judged, never a UnicodeEncodeError."""

from __future__ import annotations

import pytest

from premortem.analyzers.blank_page import BlankPage
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence, as_bytes


@pytest.mark.parametrize("broken", ["\ud800", "\udcff", "caf\udce9 \ud83d"])
def test_a_body_with_lone_surrogates_is_judged_not_a_crash(broken: str) -> None:
    url = "http://127.0.0.1:8181/"
    http = HttpEvidence(url=url, status=200, content_type="text/html", body=f"<p>{broken}</p>")
    [finding] = BlankPage().analyze(EvidenceSet(url=url, http=http, docroot=f"/srv/{broken}"))
    assert finding.rule == "blank-page" and "no <html>" in finding.message
    whole = HttpEvidence(url=url, status=200, content_type="text/html", body=f"<html>{broken}")
    assert BlankPage().analyze(EvidenceSet(url=url, http=whole)) == []


def test_undecodable_bytes_count_as_the_bytes_they_were() -> None:
    # A body decoded with surrogateescape: 0xe9 is one byte again, not three.
    assert as_bytes(b"caf\xe9".decode("utf-8", errors="surrogateescape")) == b"caf\xe9"
