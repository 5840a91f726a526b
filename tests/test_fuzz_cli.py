"""Fuzzed-input runs of whole commands over mutated real files: `premortem check`,
`premortem check --server-config` and the recorded-evidence diagnosis (`diagnose_recorded`).

The commands run in-process through `premortem.cli.main()`, exactly what the console
script runs: the exit status must be 0, 1 or 2 and never an internal error (a bug's one
line, "premortem: internal error"). The diagnosis of mutated recorded evidence must end
without an analyzer's internal error, and render as JSON and text.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import sys
from pathlib import Path
from typing import Any

import dacite
from hypothesis import example, given
from hypothesis import strategies as st
from rich.console import Console

from fixtures.problems.evidence_json import load_evidence
from fuzzing import NASTY, _glob_real, any_input, clean, mutated, slow_settings, written
from premortem.cli import main
from premortem.diagnosis import diagnose_recorded
from premortem.render.diagnosis_text import render_diagnosis_text

_PHP_NAMES = ("index.php", "wp-load.php", "lib/functions.php")


def run_premortem(*args: str) -> tuple[int, str]:
    """(exit status, stderr) of `premortem ARGS`, run in this process."""
    stderr, stdout = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["premortem", *args]
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    else:
        code = 0
    finally:
        sys.argv = argv
    return code, stderr.getvalue()


def _assert_handled(code: int, stderr: str) -> None:
    assert code in (0, 1, 2), stderr
    assert "Usage:" not in stderr, stderr  # the test's own command line must be valid
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr


@given(
    st.lists(any_input("php", 100_000), min_size=1, max_size=3),
    st.sampled_from(("text", "json", "sarif")),
)
@slow_settings()
def test_check_on_mutated_php_trees(sources: list[str], output_format: str) -> None:
    with written(dict(zip(_PHP_NAMES, sources, strict=False))) as root:
        _assert_handled(*run_premortem("check", "--no-cache", "--format", output_format, str(root)))


@given(
    st.sampled_from(("apache", "nginx")).flatmap(
        lambda kind: st.tuples(st.just(kind), mutated(kind))
    )
)
@slow_settings()
def test_check_server_config_on_mutated_configs(kind_and_text: tuple[str, str]) -> None:
    kind, text = kind_and_text
    name = "httpd.conf" if kind == "apache" else "nginx.conf"
    files = {name: text, "tree/index.php": "<?php require __DIR__ . '/lib.php';\n"}
    with written(files) as base:
        code, stderr = run_premortem(
            "check", "--no-cache", "--server-config", str(base / name), str(base / "tree")
        )
        _assert_handled(code, stderr)


_PROBLEMS = Path(__file__).parent / "fixtures" / "problems"
_EVIDENCE_FILES = _glob_real(["fixtures/problems/*/fire/*/evidence.json"])


def _mutate_leaves(node: Any, rng: random.Random, rate: float) -> Any:
    """The JSON tree with some leaves changed (same type: the recording still loads) and
    some list items dropped or doubled."""
    if isinstance(node, dict):
        return {key: _mutate_leaves(value, rng, rate) for key, value in node.items()}
    if isinstance(node, list):
        items = [_mutate_leaves(item, rng, rate) for item in node]
        if items and rng.random() < rate:
            index = rng.randrange(len(items))
            items.insert(index, items[index]) if rng.random() < 0.5 else items.pop(index)
        return items
    if rng.random() >= rate or isinstance(node, bool):
        return node
    if isinstance(node, int):
        return rng.choice((0, -1, 1, 65535, 10**12, node + 1))
    if isinstance(node, float):
        return rng.choice((0.0, -1.0, 1e300, node * 2))
    if isinstance(node, str):
        # Collectors decode what they read with errors="replace": no lone surrogates.
        piece = clean(rng.choice(NASTY))
        at = rng.randrange(len(node) + 1)
        return rng.choice((node[:at] + piece + node[at:], node[:at], piece, ""))
    return node


@given(st.sampled_from(_EVIDENCE_FILES), st.integers(0, 2**32), st.sampled_from((0.05, 0.2, 0.5)))
@slow_settings(default_examples=25, fuzz_examples=2000)
# A docroot holding a NUL byte: ValueError in wp-config.php and tree reads (fixed).
@example(_PROBLEMS / "missing-file/fire/seed-trace-only/evidence.json", 249, 0.5)
@example(_PROBLEMS / "missing-file/fire/seed-trace-only/evidence.json", 1631, 0.5)  # loaded file
# A TLS file's role that is none of certificate/key/chain: KeyError in the analyzer (fixed).
@example(_PROBLEMS / "tls-certificate/fire/chain-file-missing-apache/evidence.json", 0, 0.5)
# A certificate date past what time_t holds: OverflowError in tls-certificate (fixed).
@example(_PROBLEMS / "tls-certificate/fire/chain-file-missing-apache/evidence.json", 1, 0.2)
@example(_PROBLEMS / "permission-denied/fire/include-made-0600/evidence.json", 265932, 0.2)
@example(_PROBLEMS / "php-fpm-down/fire/stopped-pool/evidence.json", 14321, 0.5)
# A redirect Location urllib refuses ("Invalid IPv6 URL" in redirect-loop, fixed).
@example(_PROBLEMS / "redirect-loop/fire/self-redirecting-rewrite-rule/evidence.json", 262143, 0.2)
@example(_PROBLEMS / "redirect-loop/fire/self-redirecting-rewrite-rule/evidence.json", 482, 0.2)
# A listening port "39²369": ValueError from int() in not-listening (fixed).
@example(_PROBLEMS / "not-listening/fire/apache-on-another-port/evidence.json", 1637, 0.2)
def test_diagnose_recorded_on_mutated_evidence(path: Path, seed: int, rate: float) -> None:
    data = _mutate_leaves(json.loads(path.read_text()), random.Random(seed), rate)
    with written({"tree/index.php": "<?php\n"}) as base:
        try:
            evidence = load_evidence(json.dumps(data), base / "tree")
        except (ValueError, TypeError, dacite.DaciteError):  # no longer a recording's shape
            return
        diagnosis = diagnose_recorded(evidence, [evidence.http] if evidence.http else [])
        assert not diagnosis.internal_errors, diagnosis.internal_errors
        json.dumps(diagnosis.to_dict())
        console = Console(file=io.StringIO(), width=100)
        render_diagnosis_text(diagnosis, console, explain=True)
