"""Which entity an alert is about: the host, the user or the source address its ticket is grouped on.

Alerts of one rule on one entity share one open ticket, so the choice decides what an analyst
sees as "one case". The order of preference comes from, first to last:

1. the alert itself: ``sontra.alert.entity_type`` (``host``, ``user``, ``source_ip``), set by a
   detector that already grouped its events (a correlation rule's group-by, a kill chain per user);
2. a per-rule override in the policy (``EntityPolicy(overrides={rule_id: ["user"]})``);
3. the rule's log source (from the policy's ``logsources`` table, filled from the loaded Sigma
   rules, or the alert's ``rule.category``): network sources (firewall, proxy, DNS, web server,
   IDS) group on the source address, because the reporting host is only the device that saw the
   traffic; authentication sources (sshd, auth logs) group on the source address, then the user:
   a brute force is one case per attacker, not one per guessed account;
4. the alert's ``event.category`` when it copied it from the triggering event (same classes);
5. otherwise the endpoint order: host, then user, then source address (the machine where it ran).

The first type in that order for which the alert carries a value wins. Host names are compared
in lower case (DNS and Windows names are case-insensitive); addresses in canonical form; user
names as given (Linux accounts are case-sensitive). An alert with none of the three fields is
grouped on its rule alone.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from normalizers.schema import get_field
from storage.workflow.models import EntityType

# (product, category, service) as the Sigma engine keys a rule's log source; None where open.
Logsource = tuple[str | None, str | None, str | None]

ENTITY_FIELDS: dict[EntityType, tuple[str, ...]] = {
    EntityType.HOST: ("host.name", "host.hostname"),
    EntityType.USER: ("user.name",),
    EntityType.SOURCE_IP: ("source.ip",),
}
ENDPOINT_ORDER = (EntityType.HOST, EntityType.USER, EntityType.SOURCE_IP)
NETWORK_ORDER = (EntityType.SOURCE_IP, EntityType.HOST, EntityType.USER)
AUTHENTICATION_ORDER = (EntityType.SOURCE_IP, EntityType.USER, EntityType.HOST)

# Sigma log source words (product, category or service) and ECS event.category values.
NETWORK_SOURCES = frozenset(
    {"firewall", "proxy", "dns", "webserver", "network", "intrusion_detection", "netflow"}
    | {"zeek", "suricata", "fortios", "fortigate", "cisco", "paloalto", "juniper"}
)
AUTHENTICATION_SOURCES = frozenset({"authentication", "sshd", "auth", "vsftpd", "radius"})

ENTITY_TYPE_FIELD = "sontra.alert.entity_type"
MAX_ENTITY_LENGTH = 512  # Ticket.entity_value


@dataclass(frozen=True, slots=True)
class Entity:
    """What a ticket is about: a host, a user or a source address."""

    type: EntityType
    value: str

    def describe(self) -> str:
        """How a ticket title names it: ``on host ws-01``, ``by user alice``, ``from 203.0.113.7``."""
        if self.type is EntityType.HOST:
            return f"on host {self.value}"
        if self.type is EntityType.USER:
            return f"by user {self.value}"
        return f"from {self.value}"


def entity_type(text: str) -> EntityType:
    """Parse ``host``, ``user`` or ``source_ip`` (also ``source.ip``); ValueError names the choices."""
    cleaned = (text or "").strip().lower().replace(".", "_")
    try:
        return EntityType(cleaned)
    except ValueError:
        choices = ", ".join(t.value for t in EntityType)
        raise ValueError(f"unknown entity type {text!r}: expected one of {choices}") from None


@dataclass(frozen=True, slots=True)
class EntityPolicy:
    """Chooses the entity of each alert; ``overrides`` and ``logsources`` are keyed by rule id."""

    overrides: Mapping[str, Sequence[EntityType]] = field(default_factory=dict)
    logsources: Mapping[str, Logsource] = field(default_factory=dict)

    @classmethod
    def from_rules(
        cls, rules: Iterable[tuple[str, Logsource]], overrides: Mapping[str, Sequence[str]] | None = None
    ) -> EntityPolicy:
        """A policy from (rule id, log source) pairs (e.g. the Sigma engine's rules) and text overrides."""
        parsed = {rule: tuple(entity_type(t) for t in types) for rule, types in (overrides or {}).items()}
        for rule, types in parsed.items():
            if not types:
                raise ValueError(f"entity override for rule {rule!r} is empty: name at least one entity type")
        return cls(overrides=parsed, logsources=dict(rules))

    def order_for(self, alert: Mapping[str, Any]) -> tuple[EntityType, ...]:
        """The entity types to try for this alert, most specific first."""
        order = self._order_by_rule(alert)
        explicit = get_field(alert, ENTITY_TYPE_FIELD)
        if isinstance(explicit, str):
            try:
                first = entity_type(explicit)
            except ValueError:
                return order  # a detector's typo must not lose the alert: the other hints decide
            return (first, *(t for t in order if t is not first))
        return order

    def _order_by_rule(self, alert: Mapping[str, Any]) -> tuple[EntityType, ...]:
        rule_id = get_field(alert, "rule.id")
        if isinstance(rule_id, str):
            if rule_id in self.overrides:
                return tuple(self.overrides[rule_id])
            logsource = self.logsources.get(rule_id)
            if logsource is not None:
                # A known log source decides: windows/process_creation is an endpoint rule even if
                # the alert copied a "network" category from a Sysmon connection event.
                return _order_by_words(w for w in logsource if w) or ENDPOINT_ORDER
        for hint in ("rule.category", "event.category"):
            order = _order_by_words(_words(get_field(alert, hint)))
            if order is not None:
                return order
        return ENDPOINT_ORDER

    def choose(self, alert: Mapping[str, Any]) -> Entity | None:
        """The alert's entity, or None when it carries no host, user or source address."""
        for kind in self.order_for(alert):
            for name in ENTITY_FIELDS[kind]:
                value = canonical_value(kind, get_field(alert, name))
                if value is not None:
                    return Entity(kind, value)
        return None


def canonical_value(kind: EntityType, raw: Any) -> str | None:
    """The comparable form of an entity value (first element of a list); None when empty."""
    if isinstance(raw, list):
        raw = next((v for v in raw if v not in (None, "")), None)
    if raw is None or isinstance(raw, (dict, bool)):
        return None
    text = str(raw).strip()
    if not text or text == "-":
        return None
    if kind is EntityType.HOST:
        text = text.lower()
    elif kind is EntityType.SOURCE_IP:
        # A value that is not an address is kept as written: it is still the one to investigate.
        with contextlib.suppress(ValueError):
            text = str(ipaddress.ip_address(text))
    return text[:MAX_ENTITY_LENGTH]


def _words(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _order_by_words(words: Iterable[str]) -> tuple[EntityType, ...] | None:
    """Network or authentication order when a word names such a source, else None (no opinion)."""
    lowered = {w.lower() for w in words}
    if lowered & NETWORK_SOURCES:
        return NETWORK_ORDER
    if lowered & AUTHENTICATION_SOURCES:
        return AUTHENTICATION_ORDER
    return None
