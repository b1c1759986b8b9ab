"""Sontra's own rule pack: every rule loads, fires on its sample via the real normalizers; quiet on benign logs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from correlation.sigma import SigmaEngine
from correlation.sigma.pipelines import build_pipeline
from correlation.sigma_correlation import CorrelationEvaluator, CorrelationLoad, load_correlations
from normalizers import normalize
from normalizers.record import RawRecord
from sontra.rule_paths import PACK_DIR
from tests.correlation.pack_samples import CORRELATION_SAMPLES, SAMPLES

RECEIVED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LOGHUB = Path(__file__).resolve().parents[3] / "shared" / "samples" / "loghub"
RULE_FILES = sorted(PACK_DIR.rglob("*.yml"))


def _rule_key(path: Path) -> str:
    return path.relative_to(PACK_DIR).with_suffix("").as_posix()


RULES: dict[str, dict[str, Any]] = {_rule_key(path): yaml.safe_load(path.read_text()) for path in RULE_FILES}
SINGLE = sorted(key for key, rule in RULES.items() if "correlation" not in rule)
CORRELATIONS = sorted(key for key, rule in RULES.items() if "correlation" in rule)


@pytest.fixture(scope="module")
def engine() -> SigmaEngine:
    engine = SigmaEngine()
    report = engine.load([PACK_DIR])
    assert report.failures == [], report.failures
    return engine


@pytest.fixture(scope="module")
def correlations() -> CorrelationLoad:
    load = load_correlations([PACK_DIR], pipeline=build_pipeline())
    assert load.failures == [], load.failures
    return load


def to_event(sample: str | dict[str, Any], position: int, path: str = "/var/log/pack.log") -> dict[str, Any]:
    """A sample through the real normalizers, as a collector would hand it over."""
    text = sample if isinstance(sample, str) else orjson.dumps(sample).decode()
    return normalize(RawRecord(text, RECEIVED, path, "file", "auto", position))


def fired(engine: SigmaEngine, events: list[dict[str, Any]]) -> set[str]:
    return {match.rule.id for event in events for match in engine.match(event)}


def test_pack_loads_completely(engine: SigmaEngine, correlations: CorrelationLoad) -> None:
    assert len(RULE_FILES) >= 40
    assert len(engine.rules) == len(SINGLE)
    assert len(correlations.rules) == len(CORRELATIONS)
    assert {folder.name for folder in PACK_DIR.iterdir() if folder.is_dir() and folder.name != "__pycache__"} == {
        "linux",
        "web",
        "network",
        "windows",
    }


@pytest.mark.parametrize("key", sorted(RULES))
def test_rule_metadata(key: str) -> None:
    rule = RULES[key]
    for name in ("title", "id", "status", "description", "author", "date", "tags", "falsepositives", "level"):
        assert rule.get(name), f"{key}: missing {name}"
    assert rule["author"] == "Sontra"
    assert rule["status"] in ("experimental", "test")
    assert any(tag.startswith("attack.t") for tag in rule["tags"]), key
    assert ("logsource" in rule) != ("correlation" in rule), key


def test_rule_ids_are_unique() -> None:
    ids = Counter(rule["id"] for rule in RULES.values())
    assert [rule_id for rule_id, count in ids.items() if count > 1] == []


def test_every_rule_has_a_sample() -> None:
    assert sorted(SAMPLES) == SINGLE
    assert sorted(CORRELATION_SAMPLES) == CORRELATIONS


@pytest.mark.parametrize("key", SINGLE)
def test_rule_fires_on_its_sample(engine: SigmaEngine, key: str) -> None:
    for position, sample in enumerate(SAMPLES[key], start=1):
        event = to_event(sample, position)
        assert "parse_failure" not in event.get("tags", []), event
        assert RULES[key]["id"] in fired(engine, [event]), f"{key} missed {sample!r}: {event}"


@pytest.mark.parametrize("key", CORRELATIONS)
def test_correlation_fires_on_its_sample_stream(engine: SigmaEngine, correlations: CorrelationLoad, key: str) -> None:
    evaluator = CorrelationEvaluator(correlations.rules)
    samples = CORRELATION_SAMPLES[key]
    alerts: list[dict[str, Any]] = []
    for position, sample in enumerate(samples, start=1):
        alerts += evaluator.observe_matches(engine.match(to_event(sample, position)))
        if position == len(samples) - 1:
            # one event short of the condition: nothing for this rule yet
            assert RULES[key]["id"] not in {alert["rule"]["id"] for alert in alerts}, key
    assert RULES[key]["id"] in {alert["rule"]["id"] for alert in alerts}, key


def test_building_blocks_are_silenced(correlations: CorrelationLoad) -> None:
    for key in ("linux/ssh_failed_login", "windows/logon_failed", "network/firewall_denied"):
        assert correlations.is_silenced(RULES[key]["id"]) or correlations.is_silenced(RULES[key]["name"]), key


BENIGN = [
    "<38>Nov 20 09:00:01 web01 sshd[812]: Accepted publickey for deploy from 10.0.0.12 port 40022 ssh2: "
    "ED25519 SHA256:x",
    "<38>Nov 20 09:00:02 web01 sshd[812]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)",
    "<38>Nov 20 09:00:03 web01 sudo:   deploy : TTY=pts/0 ; PWD=/srv/app ; USER=root ; "
    "COMMAND=/usr/bin/systemctl restart app",
    "<38>Nov 20 09:00:04 web01 CRON[900]: (root) CMD (/usr/lib/php/sessionclean)",
    "<38>Nov 20 09:00:05 web01 systemd[1]: Started Daily apt download activities.",
    '10.0.0.40 - - [20/Nov/2026:09:00:06 +0000] "GET /index.html HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux)"',
    '10.0.0.40 - - [20/Nov/2026:09:00:07 +0000] "GET /search?q=union+station HTTP/1.1" 200 812 "-" "Mozilla/5.0"',
    '10.0.0.40 - - [20/Nov/2026:09:00:08 +0000] "POST /api/orders HTTP/1.1" 201 64 "-" "python-requests/2.31"',
    'date=2026-11-20 time=09:00:09 devname="FGT-EDGE" devid="FGT60F0000000001" logid="0000000013" type="traffic" '
    'subtype="forward" srcip=10.0.0.23 srcport=50000 dstip=93.184.216.34 dstport=443 proto=6 action="close" policyid=4',
]

# The benign Linux/web sample may raise only informational building blocks.
QUIET_LEVELS = {"informational"}


def test_benign_lines_raise_no_alert(engine: SigmaEngine) -> None:
    events = [to_event(line, position) for position, line in enumerate(BENIGN, start=1)]
    events.append(to_event(_windows_benign(), 99))
    levels = {match.rule.id: match.rule.level for event in events for match in engine.match(event)}
    assert {rule_id for rule_id, level in levels.items() if level not in QUIET_LEVELS} == set()
    # the accepted deploy login is a building block, and it does match
    assert RULES["linux/ssh_login_success"]["id"] in levels


def _windows_benign() -> dict[str, Any]:
    from tests.correlation.pack_samples import process

    return process("C:\\Windows\\System32\\notepad.exe", "notepad.exe C:\\Users\\anna\\notes.txt")


@pytest.mark.skipif(not (LOGHUB / "Apache_2k.log").exists(), reason="needs ../shared/samples/loghub/Apache_2k.log")
def test_apache_error_log_raises_nothing(engine: SigmaEngine) -> None:
    lines = (LOGHUB / "Apache_2k.log").read_text().splitlines()
    counts: Counter[str] = Counter()
    for position, line in enumerate(lines, start=1):
        for match in engine.match(to_event(line, position, "/var/log/apache2/error.log")):
            counts[match.rule.title] += 1
    assert counts == Counter()


@pytest.mark.skipif(not (LOGHUB / "OpenSSH_2k.log").exists(), reason="needs ../shared/samples/loghub/OpenSSH_2k.log")
def test_real_ssh_brute_force_is_found(engine: SigmaEngine, correlations: CorrelationLoad) -> None:
    # The loghub sshd sample holds real brute forcing from a few addresses; the pack must raise it.
    evaluator = CorrelationEvaluator(correlations.rules)
    alerts: list[dict[str, Any]] = []
    lines = (LOGHUB / "OpenSSH_2k.log").read_text().splitlines()
    for position, line in enumerate(lines, start=1):
        alerts += evaluator.observe_matches(engine.match(to_event(line, position, "/var/log/auth.log")))
    alerts += evaluator.flush()
    brute = [alert for alert in alerts if alert["rule"]["id"] == RULES["linux/ssh_brute_force"]["id"]]
    assert brute
    assert "183.62.140.253" in {alert["source"]["ip"] for alert in brute}
