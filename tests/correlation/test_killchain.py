"""Kill-chain progression per entity: order, window, entities, no flood, and the definition's checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from correlation.killchain import DefinitionError, KillChainTracker, load_definition, parse_definition
from correlation.killchain.definition import TACTIC_IDS
from normalizers.schema import set_field, validate_event
from normalizers.timestamps import format_timestamp

BASE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DEFINITION = load_definition()

CREDENTIAL = ["Credential Access"]  # phase initial-access
PERSISTENCE = ["Persistence"]  # phase foothold
DISCOVERY = ["Discovery"]  # phase expansion
C2 = ["Command and Control"]  # phase objectives


def alert(minutes: float, alert_id: str, tactics: list[str], **entities: str) -> dict[str, Any]:
    """A detector's alert at BASE + minutes with these ATT&CK tactic names (``host="web01"`` etc.)."""
    result: dict[str, Any] = {
        "@timestamp": format_timestamp(BASE + timedelta(minutes=minutes)),
        "event": {"kind": "alert", "id": alert_id},
        "rule": {"id": f"rule-{alert_id}", "name": f"Rule {alert_id}"},
        "threat": {"framework": "MITRE ATT&CK", "tactic": {"name": tactics}},
    }
    fields = {"host": "host.name", "user": "user.name", "ip": "source.ip"}
    for key, value in entities.items():
        set_field(result, fields[key], value)
    return result


def tracker(**options: Any) -> KillChainTracker:
    options.setdefault("window", timedelta(hours=2))
    options.setdefault("min_phases", 3)
    return KillChainTracker(DEFINITION, clock=lambda: BASE + timedelta(days=1), **options)


def test_progression_through_three_phases_raises_one_critical_alert() -> None:
    chain = tracker()
    assert chain.observe([alert(0, "a1", CREDENTIAL, host="web01", ip="203.0.113.7")]) == []
    assert chain.observe([alert(5, "a2", PERSISTENCE, host="web01", user="backdoor")]) == []
    raised = chain.observe([alert(9, "a3", C2, host="web01", ip="10.0.0.5")])
    assert len(raised) == 1
    out = raised[0]
    assert validate_event(out) == []
    assert out["rule"]["id"] == "sontra-killchain"
    assert out["rule"]["name"] == "Multi-stage attack on host web01"
    assert (out["rule"]["level"], out["event"]["severity"]) == ("critical", 5)
    assert out["host"]["name"] == "web01"
    assert out["@timestamp"] == format_timestamp(BASE + timedelta(minutes=9))
    assert out["sontra"]["alert"]["entity_type"] == "host"
    killchain = out["sontra"]["killchain"]
    assert killchain["phases"] == ["initial-access", "foothold", "objectives"]
    assert [(step["event"]["id"], step["phase"], step["tactic"]) for step in killchain["timeline"]] == [
        ("a1", "initial-access", "credential-access"),
        ("a2", "foothold", "persistence"),
        ("a3", "objectives", "command-and-control"),
    ]
    first = killchain["timeline"][0]
    assert first["rule"] == {"id": "rule-a1", "name": "Rule a1"}
    assert first["timestamp"] == format_timestamp(BASE)
    assert out["threat"]["tactic"]["name"] == ["Credential Access", "Persistence", "Command and Control"]
    # Replaying the same alerts into a fresh tracker raises the same alert id.
    replay = tracker().observe(
        [
            alert(0, "a1", CREDENTIAL, host="web01"),
            alert(5, "a2", PERSISTENCE, host="web01"),
            alert(9, "a3", C2, host="web01"),
        ]
    )
    assert replay[0]["event"]["id"] == out["event"]["id"]


def test_timeline_shows_every_alert_of_the_first_phase_not_only_the_chain() -> None:
    chain = tracker()
    raised = chain.observe(
        [
            alert(0, "brute", CREDENTIAL, host="web01"),
            alert(1, "login", ["Initial Access"], host="web01"),
            alert(2, "useradd", PERSISTENCE, host="web01"),
            alert(3, "c2", C2, host="web01"),
        ]
    )
    timeline = raised[0]["sontra"]["killchain"]["timeline"]
    assert [(s["event"]["id"], s["in_chain"]) for s in timeline] == [
        ("brute", False),
        ("login", True),
        ("useradd", True),
        ("c2", True),
    ]
    assert raised[0]["event"]["start"] == format_timestamp(BASE + timedelta(minutes=1))  # the chain itself
    assert raised[0]["sontra"]["alert"]["source_event_ids"] == ["brute", "login", "useradd", "c2"]


def test_phases_in_the_wrong_order_are_not_progress() -> None:
    chain = tracker()
    raised = chain.observe([alert(0, "c2", C2, host="web01")])
    raised += chain.observe([alert(5, "persist", PERSISTENCE, host="web01")])
    raised += chain.observe([alert(9, "cred", CREDENTIAL, host="web01")])
    assert raised == []


def test_alerts_arriving_out_of_order_are_placed_by_event_time() -> None:
    chain = tracker()
    raised = chain.observe([alert(9, "c2", C2, host="web01")])
    raised += chain.observe([alert(0, "cred", CREDENTIAL, host="web01")])  # 9 minutes late: within lateness
    assert raised == []
    raised = chain.observe([alert(5, "persist", PERSISTENCE, host="web01")])
    assert [step["event"]["id"] for step in raised[0]["sontra"]["killchain"]["timeline"]] == ["cred", "persist", "c2"]


def test_a_multi_tactic_alert_counts_for_one_phase() -> None:
    valid_accounts = ["Initial Access", "Persistence", "Privilege Escalation", "Defense Evasion"]  # T1078
    chain = tracker()
    assert chain.observe([alert(0, "t1078", valid_accounts, host="web01")]) == []
    raised = chain.observe([alert(3, "c2", C2, host="web01")])
    assert raised == []  # two alerts are two steps, however many tactics the first one names
    raised = chain.observe([alert(1, "persist", PERSISTENCE, host="web01")])
    assert raised[0]["sontra"]["killchain"]["phases"] == ["initial-access", "foothold", "objectives"]


def test_phases_further_apart_than_the_window_do_not_chain() -> None:
    chain = tracker(window=timedelta(hours=1))
    raised = chain.observe([alert(0, "cred", CREDENTIAL, host="web01")])
    raised += chain.observe([alert(30, "persist", PERSISTENCE, host="web01")])
    raised += chain.observe([alert(61, "c2", C2, host="web01")])  # 61 min after the first step
    assert raised == []
    raised = chain.observe([alert(62, "disc", DISCOVERY, host="web01")])
    assert raised == []  # persist -> c2 is two phases; discovery after c2 is not progress


def test_entities_expire_after_the_window() -> None:
    chain = tracker(window=timedelta(hours=1), lateness=timedelta(minutes=10))
    chain.observe([alert(0, "a", CREDENTIAL, host="old01")])
    chain.observe([alert(10, "b", CREDENTIAL, host="new01")])
    assert chain.entity_count == 2
    chain.observe([alert(71, "c", CREDENTIAL, host="new01")])  # watermark 61 min: old01 (t=0) is out
    assert chain.entity_count == 1


def test_each_entity_progresses_on_its_own() -> None:
    chain = tracker()
    raised = chain.observe(
        [
            alert(0, "w-cred", CREDENTIAL, host="web01", ip="203.0.113.7"),
            alert(1, "d-cred", CREDENTIAL, host="db01", ip="203.0.113.8"),
            alert(2, "w-persist", PERSISTENCE, host="web01", user="deploy"),
            alert(3, "d-c2", C2, host="db01", ip="10.0.0.9"),
        ]
    )
    assert raised == []  # each host has two phases
    raised = chain.observe([alert(4, "d-persist", PERSISTENCE, host="db01", user="deploy")])
    assert raised == []  # db01: persistence after C2 is not progress
    raised = chain.observe([alert(5, "d-disc", DISCOVERY, host="db01", user="deploy")])
    # db01 now has cred -> persist -> discovery; user "deploy" has persist (web01) -> persist -> discovery: 2.
    assert [out["rule"]["name"] for out in raised] == ["Multi-stage attack on host db01"]


def test_user_and_source_address_are_entities_too() -> None:
    chain = tracker()
    chain.observe([alert(0, "a", CREDENTIAL, ip="203.0.113.7", user="deploy", host="web01")])
    chain.observe([alert(1, "b", PERSISTENCE, user="deploy", host="web02")])
    raised = chain.observe([alert(2, "c", C2, user="deploy", host="web03")])
    assert [out["rule"]["name"] for out in raised] == ["Multi-stage attack on user deploy"]
    assert raised[0]["sontra"]["alert"]["entity_type"] == "user"
    assert "host" not in raised[0]  # three hosts: no host.name on the alert


def test_host_names_compare_case_insensitively() -> None:
    chain = tracker()
    chain.observe([alert(0, "a", CREDENTIAL, host="WEB01"), alert(1, "b", PERSISTENCE, host="web01")])
    raised = chain.observe([alert(2, "c", C2, host="Web01")])
    assert [out["rule"]["name"] for out in raised] == ["Multi-stage attack on host web01"]


def test_no_flood_then_one_more_alert_for_a_further_phase() -> None:
    chain = tracker(min_phases=2)
    raised = chain.observe([alert(0, "cred", CREDENTIAL, host="web01"), alert(1, "p1", PERSISTENCE, host="web01")])
    assert len(raised) == 1
    more = chain.observe([alert(2 + i, f"p{i + 2}", PERSISTENCE, host="web01") for i in range(20)])
    more += chain.observe([alert(30, "cred2", CREDENTIAL, host="web01")])
    assert more == []  # the same phases again: no new alert
    further = chain.observe([alert(40, "disc", DISCOVERY, host="web01")])
    assert [out["sontra"]["killchain"]["phases"] for out in further] == [["initial-access", "foothold", "expansion"]]
    assert chain.observe([alert(41, "disc2", DISCOVERY, host="web01")]) == []
    assert chain.stats.raised == 2


def test_a_new_campaign_after_the_window_raises_again() -> None:
    chain = tracker(window=timedelta(hours=1), min_phases=2, lateness=timedelta(minutes=5))
    assert len(chain.observe([alert(0, "a", CREDENTIAL, host="web01"), alert(1, "b", PERSISTENCE, host="web01")])) == 1
    chain.observe([alert(100, "noise", CREDENTIAL, host="web01")])  # keeps the entity alive
    raised = chain.observe([alert(120, "c", CREDENTIAL, host="web01"), alert(121, "d", PERSISTENCE, host="web01")])
    assert len(raised) == 1


def test_duplicate_late_and_untimed_alerts_are_counted() -> None:
    chain = tracker(lateness=timedelta(minutes=10))
    first = alert(30, "a", CREDENTIAL, host="web01")
    chain.observe([first, first])
    chain.observe([alert(0, "late", PERSISTENCE, host="web01")])  # 30 min older than the newest
    untimed = alert(31, "u", C2, host="web01")
    del untimed["@timestamp"]
    chain.observe([untimed, alert(32, "none", [], host="web01"), alert(33, "noentity", C2)])
    stats = chain.stats
    assert (stats.duplicates, stats.late, stats.untimed, stats.unmapped) == (1, 1, 1, 2)


def test_max_entities_evicts_and_counts() -> None:
    chain = tracker(max_entities=2)
    chain.observe([alert(0, f"a{i}", CREDENTIAL, host=f"h{i}") for i in range(3)])
    assert chain.entity_count == 2
    assert chain.stats.evicted_entities == 1


def test_own_alerts_are_not_steps() -> None:
    chain = tracker(min_phases=2)
    raised = chain.observe([alert(0, "a", CREDENTIAL, host="web01"), alert(1, "b", PERSISTENCE, host="web01")])
    assert chain.observe(raised) == []
    assert chain.stats.unmapped == 0 and chain.stats.raised == 1


def test_tactics_from_ids_tags_and_untagged_rules() -> None:
    chain = tracker()
    by_id = alert(0, "id", [], host="web01")
    by_id["threat"]["tactic"] = {"id": ["TA0006"]}
    by_tag = alert(1, "tag", [], host="web01")
    del by_tag["threat"]
    by_tag["tags"] = ["attack.persistence", "attack.t1136.001"]
    ioc = alert(2, "ioc", [], host="web01", ip="10.0.0.5")
    del ioc["threat"]
    ioc["rule"]["id"] = "sontra-ioc-ip"
    ioc["sontra"] = {"ioc": {"matched": {"field": "destination.ip", "atomic": "198.51.100.66"}}}
    raised = chain.observe([by_id, by_tag, ioc])
    assert [s["tactic"] for s in raised[0]["sontra"]["killchain"]["timeline"]] == [
        "credential-access",
        "persistence",
        "command-and-control",
    ]


# the definition


def test_the_shipped_definition_places_every_tactic_once() -> None:
    placed = [tactic for phase in DEFINITION.phases for tactic in phase.tactics]
    assert sorted(placed) == sorted(TACTIC_IDS)
    assert DEFINITION.names[0] == "reconnaissance" and DEFINITION.names[-1] == "objectives"
    assert all(phase.description for phase in DEFINITION.phases)


GOOD = "version: 1\nphases:\n  - {name: in, tactics: [initial-access]}\n  - {name: out, tactics: [impact]}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + "stages: []\n", "stages: unknown key (expected version, phases, untagged)"),
        (GOOD.replace("version: 1", "version: 2"), "version: expected 1, got 2"),
        (GOOD.replace("tactics: [impact]", "tactic: [impact]"), "phases[1].tactic: unknown key"),
        (
            GOOD.replace("[impact]", "[impact, inital-access]"),
            "phases[1].tactics[1]: unknown ATT&CK tactic 'inital-access'",
        ),
        (
            GOOD.replace("[impact]", "[Initial Access]"),
            "phases[1].tactics[0]: tactic 'initial-access' is already in phase 'in'",
        ),
        (GOOD.replace("name: out", "name: in"), "phases[1].name: phase 'in' is defined twice"),
        (GOOD.replace("name: out", "name: Out Phase"), "phases[1].name: expected a lowercase name"),
        (GOOD.replace("[impact]", "[]"), "phases[1].tactics: expected a non-empty list"),
        ("version: 1\nphases: {in: [impact]}\n", "phases: expected a list of at least 2 phases"),
        (GOOD + "untagged:\n  - {rule: x, tactic: discovery}\n", "untagged[0].tactic: 'discovery' is in no phase"),
        (GOOD + "untagged:\n  - {rule: x, tactic: impact, field: a}\n", "untagged[0]: 'field' and 'values' go"),
        (GOOD + "untagged:\n  - {rules: x, tactic: impact}\n", "untagged[0].rules: unknown key"),
        ("phases: [unclosed\n", "invalid YAML"),
    ],
)
def test_definition_errors_name_the_bad_key(text: str, message: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        parse_definition(text, "my-chain.yaml")
    assert str(raised.value).startswith("my-chain.yaml: ")
    assert message in str(raised.value)


def test_a_custom_definition_file(tmp_path: Path) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(GOOD, encoding="utf-8")
    definition = load_definition(path)
    assert definition.names == ("in", "out")
    assert definition.phase_of("attack.initial-access") == 0 and definition.phase_of("Impact") == 1
    assert definition.phase_of("Discovery") is None
    with pytest.raises(ValueError, match="min_phases must be between 2 and the 2 phases"):
        KillChainTracker(definition, min_phases=3)
    with pytest.raises(DefinitionError, match="cannot read"):
        load_definition(tmp_path / "missing.yaml")
