"""Property tests of the collectors' text parsers: strace output (collectors.trace) and the
Apache, nginx, PHP, php-fpm and MariaDB error-log lines (collectors.logs).

Any text (garbage, or a recorded trace or log mutated) parses without an exception; a line
written the way the program writes it parses back to its facts.
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import example, given
from hypothesis import strategies as st

from fuzzing import any_input, clean
from premortem.collectors import logs, trace

_PATH = st.from_regex(r"\A(/[A-Za-z0-9_.-]{1,12}){1,5}\Z")
_ERRNOS = st.sampled_from(("ENOENT", "EACCES", "EMFILE", "ENOSPC", "ECONNREFUSED", "ENOTDIR"))
_TIMES = st.datetimes(datetime(1971, 1, 1), datetime(2099, 12, 31)).map(
    lambda when: when.replace(microsecond=0)
)
_MESSAGE = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=60
)


@given(any_input("strace", 6000), st.one_of(st.none(), st.integers(0, 70000)))
@example('1 00:00:00.1 open("\\x\\u\\777", O_RDONLY) = -1 ENOENT (x)', None)
@example("9" * 5000 + ' 00:00:00.1 openat(AT_FDCWD, "/x", O_RDONLY) = 3', None)
@example("1 00:00:00.1 accept4(3, {sin_port=htons(" + "9" * 5000 + ")}, [16]) = 9", None)
def test_strace_output_parses(text: str, client_port: int | None) -> None:
    text = clean(text)
    evidence = trace.evidence_from_output(text, client_port, healthy_port=client_port)
    assert evidence.syscall_count == len(trace.parse_strace(text))
    for call in evidence.calls:
        call.path, call.text, call.socket_error  # noqa: B018
    evidence.to_dict()


@given(
    st.integers(1, 4_000_000),
    _PATH,
    st.one_of(st.none(), _ERRNOS),
    st.sampled_from(("openat", "newfstatat", "access", "stat")),
    st.booleans(),
)
def test_strace_call_round_trips(
    pid: int, path: str, errno: str | None, name: str, split: bool
) -> None:
    args = f'AT_FDCWD, "{path}", O_RDONLY' if name.endswith("at") else f'"{path}", R_OK'
    result = f"-1 {errno} (Some reason)" if errno else "3"
    if split:  # strace -f: another pid's line between the call and its result
        text = (
            f"{pid} 10:00:00.000001 {name}({args} <unfinished ...>\n"
            f"{pid + 1} 10:00:00.000002 close(4) = 0\n"
            f"{pid} 10:00:00.000003 <... {name} resumed>) = {result}\n"
        )
    else:
        text = f"{pid} 10:00:00.000001 {name}({args}) = {result}\n"
    calls = [c for c in trace.parse_strace(text) if c.pid == pid]
    assert [(c.name, c.path, c.errno, c.failed) for c in calls] == [
        (name, path, errno, errno is not None)
    ]
    assert calls[0].time == "10:00:00.000001"


@given(any_input("errorlog", 3000))
# ValueError (fixed): a superscript port, a 5,000-digit line number or pid
@example("[Tue Nov 26 00:44:19 2026] [php:error] [pid 1] [client 1.2.3.4:\u00b2] x")
@example("PHP Fatal error:  x in /a.php on line " + "9" * 5000)
@example("[Tue Nov 26 00:44:19 2026] [core:error] [pid " + "9" * 5000 + "] x")
def test_error_log_lines_parse(text: str) -> None:
    for raw in clean(text).splitlines() or [""]:
        line = logs.parse_error_line(raw, source="error.log")
        line = line or logs.ErrorLine("error.log", None, "php", raw, raw)
        logs.parse_php_message(line)
    logs.php_messages_in_body(clean(text))


@given(
    _TIMES,
    st.sampled_from(("core", "php", "authz_core", "")),
    st.sampled_from(("error", "warn", "crit")),
    st.integers(1, 4_000_000),
    st.integers(1, 65535),
    _MESSAGE,
)
def test_apache_error_line_round_trips(
    when: datetime, module: str, level: str, pid: int, port: int, message: str
) -> None:
    stamp = when.strftime("%a %b %d %H:%M:%S.123456 %Y")
    where = f"{module}:{level}" if module else level
    raw = f"[{stamp}] [{where}] [pid {pid}] [client 10.0.0.1:{port}] {message}"
    line = logs.parse_error_line(raw + "\r\n")
    assert line is not None
    facts = (line.time, line.module, line.level, line.pid, line.client_port, line.message)
    assert facts == (when.replace(microsecond=123456), module, level, pid, port, message)


@given(_TIMES, st.sampled_from(("error", "crit", "warn")), st.integers(1, 10**6), _MESSAGE)
def test_nginx_error_line_round_trips(when: datetime, level: str, pid: int, message: str) -> None:
    message = message.strip() or "x"
    raw = f"{when:%Y/%m/%d %H:%M:%S} [{level}] {pid}#0: *7 {message}, client: 127.0.0.1"
    line = logs.parse_error_line(raw)
    assert line is not None
    assert (line.time, line.level, line.pid) == (when, level, pid)
    assert line.message.startswith(message.split(", client: ")[0])


@given(
    _TIMES,
    st.sampled_from(("Fatal error", "Parse error", "Warning")),
    _PATH,
    st.integers(1, 10**6),
    _MESSAGE.map(lambda m: "x" + m.replace(" in /", " ")),  # PHP's messages are not empty
)
def test_php_error_line_round_trips(
    when: datetime, severity: str, path: str, number: int, text: str
) -> None:
    raw = f"[{when:%d-%b-%Y %H:%M:%S} UTC] PHP {severity}:  {text} in {path} on line {number}"
    line = logs.parse_error_line(raw)
    assert line is not None and line.time == when
    message = logs.parse_php_message(line)
    assert message is not None
    assert (message.severity, message.file, message.line) == (severity, path, number)
