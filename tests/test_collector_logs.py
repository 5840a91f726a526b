"""The logs collector: Apache, nginx and PHP error-log lines; this request's lines."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from premortem.collectors.logs import (
    collect_logs,
    parse_error_line,
    parse_php_message,
    parse_php_messages,
)

SCRATCH = Path(__file__).parent / "fixtures" / "diagnose" / "logs" / "php-errors.log"


def test_apache_line_with_php_fatal() -> None:
    raw = next(x for x in SCRATCH.read_text().splitlines() if "Failed opening required" in x)
    line = parse_error_line(raw)
    assert line is not None and line.level == "error" and line.module == "php"
    assert line.client_port == 45398 and line.pid == 19891
    message = parse_php_message(line)
    assert message is not None and message.severity == "Fatal error"
    assert (message.file, message.line) == ("/tmp/diag-scratch/wp/t.php", 4)


def test_parse_error_on_line_and_nginx_and_php_formats() -> None:
    raw = next(x for x in SCRATCH.read_text().splitlines() if "Parse error" in x)
    message = parse_php_message(parse_error_line(raw))  # type: ignore[arg-type]
    assert message is not None and message.line == 3
    nginx = parse_error_line(
        '2026/11/26 00:45:22 [error] 812#812: *7 FastCGI sent in stderr: "PHP message: PHP '
        'Fatal error:  Uncaught Error: Call to undefined function foo() in /srv/a.php:9", '
        'client: 127.0.0.1, server: _, request: "GET / HTTP/1.1"'
    )
    assert nginx is not None and nginx.level == "error" and nginx.pid == 812
    nginx_php = parse_php_message(nginx)
    assert nginx_php is not None and (nginx_php.file, nginx_php.line) == ("/srv/a.php", 9)
    php = parse_error_line("[26-Nov-2026 00:45:22 UTC] PHP Warning:  x in /srv/b.php on line 2")
    assert php is not None and php.time == datetime(2026, 11, 26, 0, 45, 22)
    assert parse_error_line("garbage") is None


def test_nginx_line_with_several_php_messages_gives_each() -> None:
    """Debian's php-fpm without error_log: PHP's messages reach nginx's error log joined on
    one line, the require's Warning before its Fatal error."""
    line = parse_error_line(
        '2026/11/29 03:38:46 [error] 12244#12244: *4 FastCGI sent in stderr: "PHP message: '
        "PHP Warning:  require_once(/srv/wp/wp-includes/x.phpp): Failed to open stream: No "
        "such file or directory in /srv/wp/wp-settings.php on line 156; PHP message: PHP Fatal "
        "error:  Uncaught Error: Failed opening required '/srv/wp/wp-includes/x.phpp' "
        "(include_path='.:/usr/share/php') in /srv/wp/wp-settings.php:156"
    )
    assert line is not None
    warning, fatal = parse_php_messages(line)
    assert (warning.severity, warning.line) == ("Warning", 156)
    assert not warning.text.endswith(":156")  # the Fatal error is not part of the Warning
    assert (fatal.severity, fatal.file, fatal.line) == (
        "Fatal error",
        "/srv/wp/wp-settings.php",
        156,
    )
    assert fatal.text.startswith("Uncaught Error: Failed opening required")


def test_only_this_requests_lines_are_marked(tmp_path: Path) -> None:
    now = time.time()
    stamp = datetime.fromtimestamp(now).strftime("%a %b %d %H:%M:%S.%f %Y")
    old = datetime.fromtimestamp(now - 60).strftime("%a %b %d %H:%M:%S.%f %Y")
    log = tmp_path / "error.log"
    fatal = (
        "[php:error] [pid 1:tid 1] [client 127.0.0.1:{port}] PHP Fatal error:  {x} in /x.php:{n}"
    )
    log.write_text(
        "\n".join(
            f"[{when}] " + fatal.format(port=port, x=x, n=n)
            for when, port, x, n in (
                (old, 5000, "a", 1),
                (stamp, 5001, "b", 2),
                (stamp, 5002, "c", 3),
            )
        )
        + "\n"
    )
    access = tmp_path / "access.log"
    when = datetime.fromtimestamp(now).astimezone().strftime("%d/%b/%Y:%H:%M:%S %z")
    access.write_text(
        f'127.0.0.1 - - [{when}] "GET / HTTP/1.1" 500 10 "-" "premortem-diagnose/0.1"\n'
    )
    evidence = collect_logs(
        [str(log), str(tmp_path / "missing.log")],
        str(access),
        request_start=now - 0.5,
        request_end=now + 0.5,
        client_port=5001,
        request_path="/",
    )
    assert [m.line for m in evidence.php if m.this_request] == [2]
    assert len(evidence.lines) == 3
    assert evidence.unreadable and "missing.log" in evidence.unreadable[0]
    assert evidence.replay_record is not None and evidence.recent_status_counts == {500: 1}


def test_mariadb_error_log_line() -> None:
    # Recorded from the lab's MariaDB log (`lab break wrong-db-password`).
    recorded = Path(__file__).parent / "fixtures/diagnose/lab/wrong-db-password/mariadb.log"
    line = parse_error_line(recorded.read_text().splitlines()[0])
    assert line is not None and line.module == "mariadb" and line.level == "warning"
    assert line.time == datetime(2026, 11, 26, 1, 30, 50)
    assert line.message.startswith("Access denied for user 'wordpress'@'127.0.0.1'")
    assert parse_php_message(line) is None


def test_only_lines_of_the_incidents_window_are_fresh(tmp_path: Path) -> None:
    now = time.time()

    def nginx_line(seconds_ago: float, text: str) -> str:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now - seconds_ago))
        return f"{stamp} [emerg] 7#7: {text}\n"

    log = tmp_path / "error.log"
    log.write_text(
        nginx_line(180, "bind() failed (98: Address already in use)") + nginx_line(5, "fresh")
    )
    logs = collect_logs([str(log)], None, request_start=now, request_end=now)
    assert [line.message for line in logs.fresh_lines()] == ["fresh"]
    # --since widens the window.
    logs = collect_logs(
        [str(log)], None, request_start=now, request_end=now, incident_start=now - 600
    )
    assert len(logs.fresh_lines()) == 2
