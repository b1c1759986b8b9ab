"""Apache and Nginx access and error logs -> ECS: the loghub Apache error sample checked line by line
against its structured CSV, access lines in the documented Common/Combined formats (raw from files
and through syslog), Apache 2.4 and Nginx error lines, and fuzzing."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalizers import normalize
from normalizers.record import RawRecord, decode_line
from normalizers.schema import validate_event
from normalizers.sources import web_access, web_error
from tests.normalizers.ecs_checks import assert_ecs_categorization

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
README = Path(__file__).resolve().parents[2] / "normalizers" / "README.md"


def parse(line: str, path: str = "/var/log/httpd/access_log") -> dict[str, Any]:
    ev = normalize(RawRecord(line, RECEIVED, path, "file", "auto", 1))
    assert_ecs_categorization(ev)
    return ev


def received(line: str) -> dict[str, Any]:
    ev = normalize(RawRecord(line, RECEIVED, "192.0.2.10:514", "syslog-udp", "auto", 1))
    assert_ecs_categorization(ev)
    return ev


# --- the loghub Apache error sample against its structured CSV -----------------------------------


def _apache_time(text: str) -> str:
    return datetime.strptime(text, "%a %b %d %H:%M:%S %Y").strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_apache_2k_sample_matches_the_structured_csv_line_by_line(shared_dir: Path) -> None:
    sample = shared_dir / "samples" / "loghub"
    lines = (sample / "Apache_2k.log").read_text(encoding="utf-8").splitlines()
    with (sample / "Apache_2k.log_structured.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(lines) == len(rows) == 2000
    client = re.compile(r"\[client ([^\]]+)\] (.*)")
    for number, (line, row) in enumerate(zip(lines, rows, strict=True), start=1):
        ev = normalize(RawRecord(line, RECEIVED, str(sample / "Apache_2k.log"), "file", "auto", number))
        assert "tags" not in ev, (number, line)
        assert validate_event(ev) == []
        meta = ev["event"]
        assert meta["dataset"] == "apache.error" and meta["module"] == "apache"
        assert meta["action"] != web_error.FALLBACK_ACTION, line
        assert meta["kind"] == "event" and meta["category"][0] == "web"
        assert ev["@timestamp"] == _apache_time(row["Time"])
        assert ev["log"]["level"] == row["Level"]
        assert meta["type"][0] == ("error" if row["Level"] == "error" else "info")
        assert meta["original"] == line
        m = client.fullmatch(row["Content"])
        if m:  # "[client 1.2.3.4] Directory index forbidden by rule: /var/www/html/"
            assert ev["source"]["ip"] == m.group(1)
            assert ev["message"] == m.group(2)
        else:
            assert ev["message"] == row["Content"]


def test_apache_2k_actions_follow_the_loghub_templates(shared_dir: Path) -> None:
    sample = shared_dir / "samples" / "loghub"
    with (sample / "Apache_2k.log_structured.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    expected = {
        "E1": "scoreboard_child_found",
        "E2": "worker_env_init",
        "E3": "worker_env_error_state",
        "E4": "directory_index_forbidden",
        "E5": "scoreboard_child_missing",
        "E6": "worker_child_init",
    }
    lines = (sample / "Apache_2k.log").read_text(encoding="utf-8").splitlines()
    for line, row in zip(lines, rows, strict=True):
        ev = parse(line, "/var/log/httpd/error_log")
        assert ev["event"]["action"] == expected[row["EventId"]], line
    forbidden = parse(lines[[r["EventId"] for r in rows].index("E4")])
    assert forbidden["event"]["outcome"] == "failure"
    assert forbidden["event"]["type"] == ["error", "denied"]


# --- access logs ---------------------------------------------------------------------------------


def test_combined_log_format_line_from_a_file() -> None:
    line = (
        '203.0.113.9 - alice [10/Oct/2023:13:55:36 -0700] "GET /admin/login.php?user=x&debug=1 HTTP/1.1" 401 512 '
        '"https://portal.example.gov.vn/" "Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0"'
    )
    ev = parse(line)
    assert "tags" not in ev
    assert ev["@timestamp"] == "2023-10-10T20:55:36.000Z"
    assert ev["event"] | {"id": "", "created": ""} == {
        "kind": "event", "category": ["web"], "type": ["access"], "action": "http_request", "outcome": "failure",
        "dataset": "apache.access", "module": "apache", "original": line, "id": "", "created": "",
    }  # fmt: skip
    assert ev["source"] == {"address": "203.0.113.9", "ip": "203.0.113.9"}
    assert ev["user"] == {"name": "alice"}
    assert ev["http"] == {
        "request": {"method": "GET", "referrer": "https://portal.example.gov.vn/"},
        "version": "1.1",
        "response": {"status_code": 401, "body": {"bytes": 512}},
    }
    assert ev["url"] == {"original": "/admin/login.php?user=x&debug=1", "path": "/admin/login.php",
                         "query": "user=x&debug=1"}  # fmt: skip
    assert ev["user_agent"]["original"].startswith("Mozilla/5.0 (X11")
    assert validate_event(ev) == []


def test_common_log_format_with_no_body_and_ipv6_client() -> None:
    ev = parse('2001:db8::42 - - [01/Jan/2024:00:00:01 +0000] "HEAD /health HTTP/1.0" 304 -')
    assert ev["@timestamp"] == "2024-01-01T00:00:01.000Z"
    assert ev["source"]["ip"] == "2001:db8::42"
    assert ev["http"]["response"] == {"status_code": 304}
    assert ev["event"]["outcome"] == "success"
    assert "user" not in ev and "user_agent" not in ev and "referrer" not in ev["http"].get("request", {})


def test_nginx_lines_are_told_apart_by_file_path_and_by_program() -> None:
    line = (
        '198.51.100.7 - - [11/Oct/2023:14:32:52 +0700] "POST /wp-login.php HTTP/1.1" 200 4523 "-" '
        '"python-requests/2.31"'
    )
    from_file = parse(line, "/var/log/nginx/access.log")
    assert from_file["event"]["dataset"] == "nginx.access" and from_file["event"]["module"] == "nginx"
    assert from_file["@timestamp"] == "2023-10-11T07:32:52.000Z"
    via_syslog = received(f"<190>Oct 11 14:32:53 web-02 nginx: {line}")
    assert via_syslog["event"]["dataset"] == "nginx.access"
    assert via_syslog["host"]["name"] == "web-02"
    assert via_syslog["source"]["ip"] == "198.51.100.7"
    assert via_syslog["@timestamp"] == "2023-10-11T07:32:52.000Z"  # the request time, not the syslog header
    via_apache = received(f"<190>Oct 11 14:32:53 web-03 apache2: {line}")
    assert via_apache["event"]["dataset"] == "apache.access"


def test_virtual_host_prefix_and_extra_nginx_fields() -> None:
    ev = parse(
        'portal.example.gov.vn:443 203.0.113.9 - - [11/Oct/2023:14:32:52 +0000] "GET / HTTP/2.0" 200 1024 "-" '
        '"curl/8.4.0" "10.0.0.1, 10.0.0.2" rt=0.004'
    )
    assert ev["destination"] == {"address": "portal.example.gov.vn", "domain": "portal.example.gov.vn", "port": 443}
    assert ev["source"]["ip"] == "203.0.113.9"
    assert ev["http"]["version"] == "2.0"
    assert ev["user_agent"]["original"] == "curl/8.4.0"


def test_malformed_requests_still_give_an_access_event() -> None:
    tls_probe = parse('198.51.100.23 - - [11/Oct/2023:14:32:52 +0000] "\\x16\\x03\\x01\\x00\\xa5" 400 157 "-" "-"')
    assert tls_probe["event"]["action"] == "http_request" and tls_probe["event"]["outcome"] == "failure"
    assert "url" not in tls_probe and "method" not in tls_probe.get("http", {}).get("request", {})
    timeout = parse('198.51.100.23 - - [11/Oct/2023:14:32:52 +0000] "-" 408 - "-" "-"')
    assert timeout["http"]["response"] == {"status_code": 408}


def test_a_line_that_only_looks_like_an_access_line_is_a_parse_failure() -> None:
    ev = parse('not an access line - - [11/Oct/2023:14:32:52 +0000] "GET / HTTP/1.1" 200')
    assert ev["tags"] == ["parse_failure"]
    bad_date = parse('203.0.113.9 - - [31/Feb/2023:14:32:52 +0000] "GET / HTTP/1.1" 200 1')
    assert bad_date["tags"] == ["parse_failure"]


# --- error logs ----------------------------------------------------------------------------------

APACHE_24 = (
    "[Wed Oct 11 14:32:52.123456 2023] [core:error] [pid 1234:tid 140234567] [client 198.51.100.23:51234] "
    "AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1"
)


def test_apache_24_error_line() -> None:
    ev = parse(APACHE_24, "/var/log/apache2/error.log")
    assert ev["@timestamp"] == "2023-10-11T14:32:52.123Z"
    assert ev["event"]["code"] == "AH00126"
    assert ev["event"]["action"] == "invalid_request" and ev["event"]["outcome"] == "failure"
    assert ev["apache"] == {"error": {"module": "core"}}
    assert ev["process"] == {"pid": 1234, "thread": {"id": 140234567}}
    assert ev["source"] == {"address": "198.51.100.23", "ip": "198.51.100.23", "port": 51234}
    assert ev["message"] == "Invalid URI in request GET /../../etc/passwd HTTP/1.1"
    assert validate_event(ev) == []


@pytest.mark.parametrize(
    ("line", "action", "extra"),
    [
        (
            "[Thu Oct 12 08:01:02.000001 2023] [authz_core:error] [pid 88:tid 99] [client 2001:db8::9:40000] "
            "AH01630: client denied by server configuration: /var/www/private",
            "access_denied",
            {"source": {"address": "2001:db8::9", "ip": "2001:db8::9", "port": 40000}},
        ),
        (
            "[Thu Oct 12 08:01:03.5 2023] [auth_basic:error] [pid 88] [client 198.51.100.5:4000] AH01617: user "
            'admin: authentication failure for "/admin": Password Mismatch, referer: https://example.gov.vn/',
            "authentication_failed",
            {"http": {"request": {"referrer": "https://example.gov.vn/"}}},
        ),
        (
            "[Thu Oct 12 08:01:04.000000 2023] [core:error] [pid 88:tid 99] (13)Permission denied: "
            "[client 198.51.100.5:4001] AH00035: access to /index.html denied",
            "permission_denied",
            {"error": {"code": "13", "message": "Permission denied"}},
        ),
        (
            "[Thu Oct 12 08:01:05.000000 2023] [mpm_event:notice] [pid 1:tid 2] AH00489: Apache/2.4.57 (Unix) "
            "configured -- resuming normal operations",
            "server_start",
            {},
        ),
        (
            "[Thu Oct 12 08:01:06.000000 2023] [:error] [pid 77] [client 198.51.100.5:4002] PHP Fatal error:  "
            "Uncaught Error: Call to undefined function mysql_connect() in /var/www/html/db.php:3",
            "php_error",
            {},
        ),
        (
            "[Thu Oct 12 08:01:07.000000 2023] [security2:error] [pid 77] [client 198.51.100.5:4003] "
            'ModSecurity: Access denied with code 403 (phase 2). Matched phrase "union select"',
            "modsecurity_access_denied",
            {},
        ),
    ],
)
def test_apache_24_messages(line: str, action: str, extra: dict[str, Any]) -> None:
    ev = parse(line, "/var/log/apache2/error.log")
    assert ev["event"]["action"] == action
    for group, value in extra.items():
        assert ev[group] == value
    assert validate_event(ev) == []


def test_apache_error_through_syslog_has_no_time_of_its_own() -> None:
    ev = received(
        "<11>Oct 12 08:01:02 web-01 httpd[88]: [authz_core:error] [pid 88] [client 198.51.100.5:4000] "
        "AH01630: client denied by server configuration: /srv/secret"
    )
    assert ev["event"]["dataset"] == "apache.error"
    assert ev["event"]["action"] == "access_denied"
    assert ev["@timestamp"].endswith("-10-12T08:01:02.000Z")  # from the syslog header
    assert ev["host"]["name"] == "web-01"


NGINX_ERROR = (
    '2023/10/11 14:32:52 [error] 1234#1234: *56 open() "/usr/share/nginx/html/wp-login.php" failed '
    "(2: No such file or directory), client: 198.51.100.23, server: portal.example.gov.vn, "
    'request: "GET /wp-login.php HTTP/1.1", host: "portal.example.gov.vn", referrer: "http://scanner.example/"'
)


def test_nginx_error_line() -> None:
    ev = parse(NGINX_ERROR, "/var/log/nginx/error.log")
    assert ev["@timestamp"] == "2023-10-11T14:32:52.000Z"
    assert ev["event"]["dataset"] == "nginx.error" and ev["event"]["module"] == "nginx"
    assert ev["event"]["action"] == "file_not_found" and ev["event"]["outcome"] == "failure"
    assert ev["log"]["level"] == "error"
    assert ev["process"] == {"pid": 1234, "thread": {"id": 1234}}
    assert ev["nginx"] == {"error": {"connection_id": 56, "server": "portal.example.gov.vn"}}
    assert ev["source"]["ip"] == "198.51.100.23"
    assert ev["http"] == {"request": {"method": "GET", "referrer": "http://scanner.example/"}, "version": "1.1"}
    assert ev["url"] == {"original": "/wp-login.php", "path": "/wp-login.php", "domain": "portal.example.gov.vn"}
    assert ev["message"] == 'open() "/usr/share/nginx/html/wp-login.php" failed (2: No such file or directory)'
    assert validate_event(ev) == []


@pytest.mark.parametrize(
    ("message", "action", "level"),
    [
        ('2023/10/11 14:32:52 [error] 9#9: *1 user "admin" was not found in "/etc/nginx/.htpasswd", client: '
         '198.51.100.5, server: _, request: "GET /admin HTTP/1.1"', "user_not_found", "error"),
        ('2023/10/11 14:32:52 [error] 9#9: *2 user "admin": password mismatch, client: 198.51.100.5, server: _',
         "authentication_failed", "error"),
        ('2023/10/11 14:32:52 [error] 9#9: *3 limiting requests, excess: 10.520 by zone "login", client: '
         '198.51.100.5, server: _, request: "POST /login HTTP/1.1"', "rate_limited", "error"),
        ('2023/10/11 14:32:52 [error] 9#9: *4 upstream timed out (110: Connection timed out) while reading '
         'response header from upstream, client: 10.0.0.5, server: app, request: "GET /api HTTP/1.1", '
         'upstream: "http://127.0.0.1:8080/api", host: "app"', "upstream_timeout", "error"),
        ("2023/10/11 14:32:52 [notice] 1#1: start worker process 29", "worker_start", "notice"),
        ('2023/10/11 14:32:52 [emerg] 1#1: unknown directive "servr" in /etc/nginx/conf.d/site.conf:3',
         "configuration_error", "emerg"),
        ("2023/10/11 14:32:52 [warn] 1#1: something nginx has never said before", "error_log_message", "warn"),
    ],
)  # fmt: skip
def test_nginx_error_messages(message: str, action: str, level: str) -> None:
    ev = received(f"<187>Oct 11 14:32:52 web-02 nginx: {message}")
    assert ev["event"]["dataset"] == "nginx.error"
    assert ev["event"]["action"] == action
    assert ev["log"]["level"] == level
    assert validate_event(ev) == []


def test_every_web_error_action_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    actions = {rule[1] for rule in web_error._MESSAGE_RULES} | set(web_error._AH_CODES.values())
    missing = sorted(a for a in actions | {web_error.FALLBACK_ACTION} if f"`{a}`" not in readme)
    assert missing == []


# --- fuzzing -------------------------------------------------------------------------------------

_SEEDS = [
    APACHE_24,
    NGINX_ERROR,
    '203.0.113.9 - alice [10/Oct/2023:13:55:36 -0700] "GET /a HTTP/1.1" 200 5 "-" "curl"',
    "[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] Directory index forbidden by rule: /var/www/html/",
]
_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
_LINES = st.one_of(
    _TEXT,
    st.builds(lambda seed, cut: seed[:cut], st.sampled_from(_SEEDS), st.integers(0, 400)),
    st.builds(lambda seed, junk, at: seed[:at] + junk + seed[at:], st.sampled_from(_SEEDS), _TEXT, st.integers(0, 400)),
    st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(["[", "[Sun Dec 04 04:47:44 2005] [", "2023/10/11 "
              "14:32:52 [error] 1#1: ", '1.2.3.4 - - [10/Oct/2023:13:55:36 -0700] "']), _TEXT),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(_LINES)
def test_web_lines_never_raise_and_always_fit_the_schema(line: str) -> None:
    for ev in (parse(line), parse(line, "/var/log/nginx/error.log"), received(f"<11>Oct 11 14:32:52 h nginx: {line}")):
        assert validate_event(ev) == []
        assert "original" in ev["event"]
        assert "source_parser_error" not in ev.get("tags", [])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_break_the_web_parsers(data: bytes) -> None:
    line = decode_line(data)
    for refine in (web_access.refine_access, web_error.refine_error, web_access.refine_web_program):
        event = {"message": line, "event": {"dataset": "syslog"}, "tags": ["parse_failure"], "@timestamp": "x"}
        refine(event)


def test_oversized_lines_stay_safe() -> None:
    huge = '203.0.113.9 - - [10/Oct/2023:13:55:36 -0700] "GET /' + "A" * 200_000 + ' HTTP/1.1" 200 5 "-" "x"'
    ev = parse(huge)
    assert ev["http"]["response"]["status_code"] == 200
    assert len(ev["url"]["original"]) == 200_001
    ev = parse("[" * 100_000)
    assert ev["tags"] == ["parse_failure"]
