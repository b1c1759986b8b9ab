"""A Sigma match -> an ECS alert: ``event.kind: alert``, ``rule.*``, ``threat.*``, the entity fields.

The alert's ``event.id`` is derived from the rule id and the matched event's id, so running the
same events through detection twice (a retried batch) yields the same alert ids and the store
keeps one copy. The matched event's id goes to ``sontra.alert.source_event_ids`` (as for IOC,
correlation and kill-chain alerts) so an analyst can pivot back; ``event.created`` says when it was raised.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from correlation.sigma.compiler import Match, RuleInfo
from normalizers.schema import ECS_VERSION, get_field, set_field

# ATT&CK Enterprise tactics by Sigma tag name (v19 split Defense Evasion into Stealth and
# Defense Impairment; older rules still carry defense-evasion).
TACTICS: dict[str, tuple[str, str]] = {
    "reconnaissance": ("TA0043", "Reconnaissance"),
    "resource-development": ("TA0042", "Resource Development"),
    "initial-access": ("TA0001", "Initial Access"),
    "execution": ("TA0002", "Execution"),
    "persistence": ("TA0003", "Persistence"),
    "privilege-escalation": ("TA0004", "Privilege Escalation"),
    "defense-evasion": ("TA0005", "Defense Evasion"),
    "stealth": ("TA0005", "Stealth"),
    "defense-impairment": ("TA0112", "Defense Impairment"),
    "credential-access": ("TA0006", "Credential Access"),
    "discovery": ("TA0007", "Discovery"),
    "lateral-movement": ("TA0008", "Lateral Movement"),
    "collection": ("TA0009", "Collection"),
    "command-and-control": ("TA0011", "Command and Control"),
    "exfiltration": ("TA0010", "Exfiltration"),
    "impact": ("TA0040", "Impact"),
}
FRAMEWORK = "MITRE ATT&CK"
SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
# Entity fields copied from the event: who and where, for grouping alerts into tickets.
COPIED_FIELDS = ("host.name", "user.name", "source.ip")
_TECHNIQUE = re.compile(r"t\d{4}(?:\.\d{3})?", re.IGNORECASE)


def alert_id(rule_id: str, event_id: str) -> str:
    """The alert's deterministic ``event.id``: one alert per (rule, event) pair."""
    key = f"sigma\x1f{rule_id}\x1f{event_id}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def threat_of(tags: Iterable[str]) -> dict[str, Any] | None:
    """``threat.*`` from a rule's ``attack.*`` tags: tactic ids and names, technique ids; None without any."""
    tactic_ids: list[str] = []
    tactic_names: list[str] = []
    techniques: list[str] = []
    for tag in tags:
        namespace, _, name = tag.partition(".")
        if namespace.lower() != "attack":
            continue
        name = name.lower()
        tactic = TACTICS.get(name.replace("_", "-"))
        if tactic is not None:
            # Stealth and Defense Evasion share TA0005: keep ids and names each unique.
            if tactic[0] not in tactic_ids:
                tactic_ids.append(tactic[0])
            if tactic[1] not in tactic_names:
                tactic_names.append(tactic[1])
        elif _TECHNIQUE.fullmatch(name) and name.upper() not in techniques:
            techniques.append(name.upper())
    if not (tactic_ids or techniques):
        return None
    threat: dict[str, Any] = {"framework": FRAMEWORK}
    if tactic_ids:
        threat["tactic"] = {"id": tactic_ids, "name": tactic_names}
    if techniques:
        threat["technique"] = {"id": techniques}
    return threat


def to_alert(match: Match, ruleset: str = "sigma", created: str | None = None) -> dict[str, Any]:
    """The ECS alert for one match; ``created`` (ECS timestamp text) becomes ``event.created``."""
    rule = match.rule
    event = match.event
    event_id = get_field(event, "event.id")
    alert: dict[str, Any] = {
        "@timestamp": event.get("@timestamp"),
        "message": rule.title,
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "alert",
            "id": alert_id(rule.id, str(event_id) if event_id is not None else _fingerprint(event)),
            "dataset": "sigma",
        },
        "rule": _rule_fields(rule, ruleset),
    }
    if created is not None:
        alert["event"]["created"] = created
    if rule.level in SEVERITY:
        alert["event"]["severity"] = SEVERITY[rule.level]
    threat = threat_of(rule.tags)
    if threat is not None:
        alert["threat"] = threat
    if event_id is not None:
        alert["sontra"] = {"alert": {"source_event_ids": [str(event_id)]}}
    for name in COPIED_FIELDS:
        value = get_field(event, name)
        if value is not None:
            set_field(alert, name, value)
    if rule.tags:
        alert["tags"] = list(rule.tags)
    return alert


def _rule_fields(rule: RuleInfo, ruleset: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": rule.id, "name": rule.title, "ruleset": ruleset}
    if rule.level:
        fields["level"] = rule.level
    if rule.description:
        fields["description"] = rule.description.strip()
    if rule.author:
        fields["author"] = rule.author
    if rule.references:
        fields["reference"] = rule.references[0]
    return fields


def _fingerprint(event: Mapping[str, Any]) -> str:
    """A stand-in id for an event that has none (events from the pipeline always do)."""
    return hashlib.blake2b(orjson.dumps(event, default=str, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()
