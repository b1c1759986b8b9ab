"""sshd -> ECS: the loghub OpenSSH sample checked line by line against its structured CSV, modern
OpenSSH message forms, the documented action vocabulary, and fuzzing."""

from __future__ import annotations

import copy
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
from normalizers.sources import linux_auth, sshd
from normalizers.sources.network_values import is_ip

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
README = Path(__file__).resolve().parents[2] / "normalizers" / "README.md"


def parse(line: str) -> dict[str, Any]:
    return normalize(RawRecord(line, RECEIVED, "/var/log/auth.log", "file", "auto", 1))


def sshd_line(message: str, program: str = "sshd") -> dict[str, Any]:
    return parse(f"Nov 20 10:00:00 bastion-01 {program}[4242]: {message}")


# --- the loghub sample against its structured CSV ------------------------------------------------

# What each <*> of a loghub template holds: "user", "ip" (an address or host name), "port", "host"
# (the resolved name), or None (counts, codes, uids). Users written literally in a template are in
# the second element.
TEMPLATE_FIELDS: dict[str, tuple[tuple[str | None, ...], str | None]] = {
    "Accepted password for <*> from <*> port <*> ssh2": (("user", "ip", "port"), None),
    "Connection closed by <*> [preauth]": (("ip",), None),
    "Did not receive identification string from <*>": (("ip",), None),
    "Disconnecting: Too many authentication failures for admin [preauth]": ((), "admin"),
    "Disconnecting: Too many authentication failures for root [preauth]": ((), "root"),
    "error: Received disconnect from <*>: <*>: com.jcraft.jsch.JSchException: Auth fail [preauth]": (
        ("ip", None),
        None,
    ),
    "error: Received disconnect from <*>: <*>: No more user authentication methods available. [preauth]": (
        ("ip", None),
        None,
    ),
    "Failed none for invalid user <*> from <*> port <*> ssh2": (("user", "ip", "port"), None),
    "Failed password for <*> from <*> port <*> ssh2": (("user", "ip", "port"), None),
    "Failed password for invalid user <*> from <*> port <*> ssh2": (("user", "ip", "port"), None),
    "fatal: Write failed: Connection reset by peer [preauth]": ((), None),
    "input_userauth_request: invalid user <*> [preauth]": (("user",), None),
    "Invalid user <*> from <*>": (("user", "ip"), None),
    "message repeated <*> times: [ Failed password for root from <*> port <*>]": ((None, "ip", "port"), "root"),
    "PAM <*> more authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>": (
        (None, None, None, "ip"),
        None,
    ),
    "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>": (
        (None, None, None, "ip"),
        None,
    ),
    "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>  user=root": (
        (None, None, None, "ip"),
        "root",
    ),
    "PAM service(sshd) ignoring max retries; <*> > <*>": ((None, None), None),
    "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>": (
        (None, None, "ip"),
        None,
    ),
    "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*> user=<*>": (
        (None, None, "ip", "user"),
        None,
    ),
    "pam_unix(sshd:auth): check pass; user unknown": ((), None),
    "pam_unix(sshd:session): session closed for user <*>": (("user",), None),
    "pam_unix(sshd:session): session opened for user <*> by (uid=<*>)": (("user", None), None),
    "Received disconnect from <*>: <*>: Bye Bye [preauth]": (("ip", None), None),
    "Received disconnect from <*>: <*>: Closed due to user request. [preauth]": (("ip", None), None),
    "Received disconnect from <*>: <*>: disconnected by user": (("ip", None), None),
    "reverse mapping checking getaddrinfo for <*> [<*>] failed - POSSIBLE BREAK-IN ATTEMPT!": (("host", "ip"), None),
}


def template_regex(template: str) -> re.Pattern[str]:
    return re.compile("(.*?)".join(re.escape(part) for part in template.split("<*>")))


def expected_fields(template: str, content: str) -> dict[str, Any]:
    """The source/user fields a line must carry, read from the CSV's template and content."""
    assert template in TEMPLATE_FIELDS, f"no field spec for loghub template {template!r}"
    roles, literal_user = TEMPLATE_FIELDS[template]
    m = template_regex(template).fullmatch(content.rstrip())
    assert m is not None, f"CSV content does not follow its template: {content!r}"
    assert len(m.groups()) == len(roles), template
    expected: dict[str, Any] = {"user.name": literal_user, "source.ip": None, "source.domain": None}
    for role, value in zip(roles, m.groups(), strict=True):
        value = value.strip()
        if role == "user":
            expected["user.name"] = value or None
        elif role == "ip":
            if is_ip(value):
                expected["source.ip"] = value
            else:  # PAM's rhost holds the resolved name when there is one
                expected["source.domain"] = value
        elif role == "port":
            expected["source.port"] = int(value.split()[0])
        elif role == "host":
            expected["source.domain"] = value
    return expected


def actual_fields(event: dict[str, Any]) -> dict[str, Any]:
    source = event.get("source", {})
    user = event.get("user", {})
    return {
        "user.name": user.get("name"),
        "source.ip": source.get("ip"),
        "source.domain": source.get("domain"),
        "source.port": source.get("port"),
    }


def test_openssh_sample_matches_the_structured_csv_field_by_field(shared_dir: Path) -> None:
    folder = shared_dir / "samples" / "loghub"
    lines = (folder / "OpenSSH_2k.log").read_text(encoding="utf-8").splitlines()
    with (folder / "OpenSSH_2k.log_structured.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(lines) == len(rows) == 2000
    vocabulary = set(sshd.ACTIONS) | set(linux_auth.ACTIONS)
    generic: list[str] = []
    mismatches: list[str] = []
    for line, row in zip(lines, rows, strict=True):
        assert row["Content"] in line, f"line {row['LineId']} is not the CSV's line"
        event = parse(line)
        action = event["event"].get("action")
        if action not in vocabulary or event["event"]["dataset"] != "system.auth" or "tags" in event:
            generic.append(line)
            continue
        expected = expected_fields(row["EventTemplate"], row["Content"])
        actual = actual_fields(event)
        for name, value in expected.items():
            if actual[name] != value:
                mismatches.append(f"line {row['LineId']} {name}: expected {value!r}, got {actual[name]!r}: {line}")
        assert validate_event(event) == [], line
    specific_share = 1 - len(generic) / len(lines)
    assert specific_share >= 0.99, f"{specific_share:.2%} specific; generic examples: {generic[:5]}"
    assert generic == [], f"{len(generic)} lines without a specific action, e.g. {generic[:5]}"
    assert mismatches == [], f"{len(mismatches)} field mismatches, e.g. {mismatches[:5]}"


def test_openssh_sample_actions_cover_the_sample_kinds(shared_dir: Path) -> None:
    lines = (shared_dir / "samples" / "loghub" / "OpenSSH_2k.log").read_text(encoding="utf-8").splitlines()
    counts: dict[str, int] = {}
    for line in lines:
        action = parse(line)["event"]["action"]
        counts[action] = counts.get(action, 0) + 1
    # The sample's make-up (from its CSV): 383 + 135 + 4 failed logins + 2 repeated, 1 accepted.
    assert counts["ssh_login"] == 383 + 135 + 4 + 2 + 1
    assert counts["ssh_invalid_user"] == 113
    assert counts["ssh_break_in_attempt"] == 85
    assert counts["pam_auth_failure"] == 110 + 384
    assert counts["ssh_disconnect"] == 413 + 7 + 1 + 45 + 2


# --- message forms -------------------------------------------------------------------------------


def test_accepted_publickey_with_key_fingerprint() -> None:
    ev = sshd_line("Accepted publickey for alice from 192.0.2.7 port 50122 ssh2: ED25519 SHA256:Xx0/abc+def")
    assert ev["event"]["action"] == "ssh_login"
    assert ev["event"]["outcome"] == "success"
    assert ev["event"]["category"] == ["authentication", "session"]
    assert ev["event"]["dataset"] == "system.auth"
    assert ev["user"]["name"] == "alice"
    assert ev["source"] == {"address": "192.0.2.7", "ip": "192.0.2.7", "port": 50122}
    assert ev["system"]["auth"]["ssh"] == {
        "event": "Accepted",
        "method": "publickey",
        "signature": "ED25519 SHA256:Xx0/abc+def",
    }
    assert ev["related"] == {"user": ["alice"], "ip": ["192.0.2.7"]}


def test_failed_password_for_invalid_user_over_ipv6() -> None:
    ev = sshd_line("Failed password for invalid user oracle from 2001:db8::5 port 40000 ssh2")
    assert (ev["event"]["action"], ev["event"]["outcome"]) == ("ssh_login", "failure")
    assert ev["user"]["name"] == "oracle"
    assert ev["source"]["ip"] == "2001:db8::5"
    assert ev["system"]["auth"]["ssh"]["method"] == "password"


def test_empty_invalid_user_name_sets_no_user() -> None:
    ev = sshd_line("Invalid user  from 198.51.100.4 port 53422")
    assert ev["event"]["action"] == "ssh_invalid_user"
    assert "user" not in ev
    assert ev["source"]["port"] == 53422


@pytest.mark.parametrize(
    ("message", "action", "user", "ip", "port"),
    [
        ("Received disconnect from 198.51.100.4 port 53422:11: Bye Bye [preauth]", "ssh_disconnect", None,
         "198.51.100.4", 53422),
        ("Disconnected from invalid user test 198.51.100.4 port 53422 [preauth]", "ssh_disconnect", "test",
         "198.51.100.4", 53422),
        ("Disconnected from user alice 192.0.2.7 port 50122", "ssh_disconnect", "alice", "192.0.2.7", 50122),
        ("Connection closed by authenticating user root 198.51.100.4 port 40022 [preauth]",
         "ssh_connection_closed", "root", "198.51.100.4", 40022),
        ("Connection reset by 198.51.100.4 port 40022 [preauth]", "ssh_connection_reset", None, "198.51.100.4",
         40022),
        ("Disconnecting authenticating user root 198.51.100.4 port 40022: Too many authentication failures "
         "[preauth]", "ssh_too_many_auth_failures", "root", "198.51.100.4", 40022),
        ("error: maximum authentication attempts exceeded for invalid user admin from 198.51.100.4 port 40022 "
         "ssh2 [preauth]", "ssh_too_many_auth_failures", "admin", "198.51.100.4", 40022),
        ("Did not receive identification string from 198.51.100.4 port 40022", "ssh_no_identification", None,
         "198.51.100.4", 40022),
        ("banner exchange: Connection from 198.51.100.4 port 40022: invalid format", "ssh_protocol_error", None,
         "198.51.100.4", 40022),
        ("Unable to negotiate with 198.51.100.4 port 40022: no matching key exchange method found. Their offer: "
         "diffie-hellman-group1-sha1 [preauth]", "ssh_protocol_error", None, "198.51.100.4", 40022),
        ("Bad protocol version identification 'GET / HTTP/1.1' from 198.51.100.4 port 40022",
         "ssh_protocol_error", None, "198.51.100.4", 40022),
        ("Timeout before authentication for 198.51.100.4 port 40022", "ssh_auth_timeout", None, "198.51.100.4",
         40022),
        ("User root from 198.51.100.4 not allowed because not listed in AllowUsers", "ssh_user_not_allowed",
         "root", "198.51.100.4", None),
        ("ROOT LOGIN REFUSED FROM 198.51.100.4 port 40022", "ssh_user_not_allowed", "root", "198.51.100.4", 40022),
        ("Starting session: shell on pts/0 for alice from 192.0.2.7 port 50122 id 0", "ssh_session_started",
         "alice", "192.0.2.7", 50122),
        ("Close session: user alice from 192.0.2.7 port 50122 id 0", "ssh_session_closed", "alice", "192.0.2.7",
         50122),
        ("Postponed keyboard-interactive/pam for root from 198.51.100.4 port 40022 ssh2 [preauth]",
         "ssh_auth_postponed", "root", "198.51.100.4", 40022),
        ("error: PAM: Authentication failure for illegal user admin from 198.51.100.4", "ssh_pam_auth_failure",
         "admin", "198.51.100.4", None),
        ("Connection from 198.51.100.4 port 40022 on 192.0.2.10 port 22 rdomain \"\"", "ssh_connection_opened",
         None, "198.51.100.4", 40022),
    ],
)  # fmt: skip
def test_modern_openssh_messages(message: str, action: str, user: str | None, ip: str, port: int | None) -> None:
    ev = sshd_line(message)
    assert ev["event"]["action"] == action, message
    assert action in sshd.ACTIONS
    assert ev.get("user", {}).get("name") == user
    assert ev["source"]["ip"] == ip
    assert ev["source"].get("port") == port
    assert validate_event(ev) == []


def test_break_in_attempt_keeps_address_and_claimed_name() -> None:
    ev = sshd_line(
        "Address 198.51.100.4 maps to mail.example.com, but this does not map back to the address"
        " - POSSIBLE BREAK-IN ATTEMPT!"
    )
    assert ev["event"]["action"] == "ssh_break_in_attempt"
    assert ev["event"]["category"] == ["intrusion_detection", "network"]
    assert ev["source"] == {"address": "198.51.100.4", "ip": "198.51.100.4", "domain": "mail.example.com"}


def test_repeated_message_is_parsed_from_inside_the_brackets() -> None:
    ev = sshd_line("message repeated 3 times: [ Failed password for root from 198.51.100.4 port 4022 ssh2]")
    assert (ev["event"]["action"], ev["user"]["name"], ev["source"]["port"]) == ("ssh_login", "root", 4022)
    assert ev["message"].startswith("message repeated 3 times")  # the message itself is kept as sent


def test_errors_and_fatals_keep_their_level_and_text() -> None:
    ev = sshd_line("fatal: Read from socket failed: Connection reset by peer [preauth]")
    assert ev["event"]["action"] == "ssh_connection_reset"
    assert ev["log"]["level"] == "fatal"
    other = sshd_line("error: Could not load host key: /etc/ssh/ssh_host_dsa_key")
    assert other["event"]["action"] == "ssh_error"
    assert other["system"]["auth"]["ssh"]["error"] == "Could not load host key: /etc/ssh/ssh_host_dsa_key"
    proto = sshd_line("error: kex_exchange_identification: Connection closed by remote host")
    assert proto["event"]["action"] == "ssh_protocol_error"


def test_server_start_stop_and_the_split_sshd_session_binary() -> None:
    listening = sshd_line("Server listening on 0.0.0.0 port 22.")
    assert listening["event"]["action"] == "ssh_server_listening"
    assert listening["server"]["port"] == 22
    assert sshd_line("Received signal 15; terminating.")["event"]["action"] == "ssh_server_stopped"
    # OpenSSH 9.8 logs authentication from the separate sshd-session binary.
    session = sshd_line("Accepted password for bob from 192.0.2.8 port 40100 ssh2", program="sshd-session")
    assert session["event"]["action"] == "ssh_login"


def test_rfc5424_sshd_lines_are_refined_too() -> None:
    line = "<38>1 2026-11-20T10:00:00.123Z bastion-01 sshd 4242 - - Failed password for root from 192.0.2.9 port 1 ssh2"
    ev = parse(line)
    assert ev["event"]["action"] == "ssh_login"
    assert ev["@timestamp"] == "2026-11-20T10:00:00.123Z"


def test_unknown_sshd_messages_stay_generic() -> None:
    ev = sshd_line("Set /proc/self/oom_score_adj to 0")
    assert ev["event"]["dataset"] == "syslog"
    assert "action" not in ev["event"]
    assert "tags" not in ev


def test_every_action_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    missing = [action for action in sshd.ACTIONS if f"`{action}`" not in readme]
    assert missing == [], f"undocumented sshd actions: {missing}"


def test_action_categories_and_types_are_ecs_allowed_values() -> None:
    categories = {"authentication", "network", "session", "process", "intrusion_detection"}
    types = {"info", "start", "end", "connection", "protocol", "denied", "allowed"}
    for action, (category, kind) in sshd.ACTIONS.items():
        assert set(category) <= categories, action
        assert set(kind) <= types, action


# --- fuzzing -------------------------------------------------------------------------------------

_WORDS = [
    "Accepted", "Failed", "Invalid", "user", "invalid", "for", "from", "port", "ssh2", "password", "publickey",
    "Received", "disconnect", "Disconnected", "Disconnecting:", "Connection", "closed", "reset", "by", "[preauth]",
    "192.0.2.1", "::1", "22", "99999999999999999999", "11:", ":", "error:", "fatal:", "message", "repeated",
    "times:", "[", "]", "pam_unix(sshd:auth):", "PAM", "rhost=", "user=", "authenticating", "reverse", "mapping",
    "Address", "maps", "to", "", "\x00", "é", "Too", "many", "authentication", "failures",
]  # fmt: skip
_MESSAGES = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(_WORDS), max_size=25).map(" ".join),
)


@settings(max_examples=400, deadline=None)
@given(_MESSAGES)
def test_refine_never_raises_and_leaves_unknown_messages_untouched(message: str) -> None:
    event: dict[str, Any] = {"message": message, "event": {"kind": "event", "dataset": "syslog"}}
    before = copy.deepcopy(event)
    if not sshd.refine_sshd(event):
        assert event == before
    else:
        assert event["event"]["action"] in set(sshd.ACTIONS) | set(linux_auth.ACTIONS)


@settings(max_examples=300, deadline=None)
@given(_MESSAGES)
def test_normalized_sshd_events_always_fit_the_schema(message: str) -> None:
    ev = sshd_line(message.replace("\n", " "))
    assert validate_event(ev) == []
    for side in ("source", "destination", "server"):
        ip = ev.get(side, {}).get("ip")
        assert ip is None or is_ip(ip)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_break_normalize(data: bytes) -> None:
    ev = parse(decode_line(b"Nov 20 10:00:00 h sshd[1]: " + data))
    assert validate_event(ev) == []


def test_oversized_and_truncated_lines_are_cheap_and_safe() -> None:
    huge = "Failed password for " + "invalid user from x " * 800 + "port"  # under the length cap
    started = datetime.now(UTC)
    ev = sshd_line(huge)
    assert (datetime.now(UTC) - started).total_seconds() < 1.0
    assert validate_event(ev) == []
    huge = "Failed password for " + "invalid user from x " * 20_000 + "port"  # over it
    started = datetime.now(UTC)
    ev = sshd_line(huge)
    assert (datetime.now(UTC) - started).total_seconds() < 1.0
    assert validate_event(ev) == []
    cut = sshd_line("Failed password for root from 192.0.2.9 po")
    assert "action" not in cut["event"]
