"""Which source parser refines an event: by syslog program name, by message content, or by JSON shape.

The base parsers (``syslog``, ``jsonl``) read the envelope: time, host, program, message. A source
parser then reads the payload (an sshd message, a FortiGate key=value line, a Sysmon record) and
fills the specific ECS fields. Each source module registers itself here as data: the programs it
owns, an optional cheap content test, and its ``refine`` function.

Two registries:

- ``ROUTES`` (``SourceParser``) for syslog events and raw lines: routed by ``process.name`` (the
  syslog program, exactly or by one of ``program_prefixes``), else by the first ``sniff(message)``
  that claims the message (sniffers run in registration order, i.e. the import order in
  ``normalizers/sources/__init__.py``, and the first claim wins, so a sniffer must be specific).
  ``refine(event)`` fills fields in place. ``SourceParser.dataset`` becomes ``event.dataset`` unless
  ``refine`` set a more specific one itself (one program can carry several datasets, e.g. nginx
  access and error).
- ``JSON_ROUTES`` (``JsonSourceParser``) for JSON lines (Suricata EVE, Winlogbeat, EVTX-as-JSON):
  ``parse_jsonl`` asks each registered parser in order whether it ``claims(document)`` (a cheap
  test on keys, checked before the generic ECS pass-through and ``json.*`` wrap), and the first
  that does builds the whole event with ``to_event(document, record)``. ``to_event`` returns None
  for a document it turns out not to understand; the line then gets the generic handling. ``ecs``,
  ``event.kind``, ``event.original`` and ``event.dataset`` (from ``JsonSourceParser.dataset``) are
  filled in when ``to_event`` leaves them out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from normalizers.record import RawRecord

# refine(event) reads event["message"] / event fields and fills ECS fields in place; it returns
# False when the payload was not one it understands (the event stays generic, never an error).
Refine = Callable[[dict[str, Any]], bool]
# Cheap test on the message (or, for JSON, on the document) for sources without a program name.
Sniff = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class SourceParser:
    """One source family's parser and how events are routed to it."""

    dataset: str
    refine: Refine
    programs: frozenset[str] = field(default_factory=frozenset)
    sniff: Sniff | None = None
    # Program names that vary per message but share a prefix (Cisco's "%ASA-6-302013" tag).
    program_prefixes: tuple[str, ...] = ()


@dataclass
class SourceRoutes:
    """The registry: program name -> parser, plus content sniffers tried in order."""

    by_program: dict[str, SourceParser] = field(default_factory=dict)
    by_prefix: list[tuple[str, SourceParser]] = field(default_factory=list)
    sniffers: list[SourceParser] = field(default_factory=list)

    def add(self, parser: SourceParser) -> SourceParser:
        """Register a parser for its programs and, if it has one, its content sniffer."""
        for program in parser.programs:
            self.by_program[program.lower()] = parser
        for prefix in parser.program_prefixes:
            self.by_prefix.append((prefix.lower(), parser))
        if parser.sniff is not None:
            self.sniffers.append(parser)
        return parser

    def route(self, program: str | None, message: str) -> SourceParser | None:
        """The parser for a syslog event: by its program (name, then prefix), else the first sniffer that claims it."""
        if program:
            lowered = program.lower()
            parser = self.by_program.get(lowered)
            if parser is not None:
                return parser
            for prefix, parser in self.by_prefix:
                if lowered.startswith(prefix):
                    return parser
        for parser in self.sniffers:
            if parser.sniff is not None and parser.sniff(message):
                return parser
        return None


ROUTES = SourceRoutes()


# claims(document) is a cheap test on a decoded JSON object's keys; to_event(document, record) builds
# the ECS event, or returns None when the document is not one it understands after all.
JsonClaims = Callable[[dict[str, Any]], bool]
JsonToEvent = Callable[[dict[str, Any], RawRecord], "dict[str, Any] | None"]


@dataclass(frozen=True, slots=True)
class JsonSourceParser:
    """One JSON source family's parser: which documents it claims and how it builds their events."""

    dataset: str
    claims: JsonClaims
    to_event: JsonToEvent


@dataclass
class JsonRoutes:
    """The registry of JSON source parsers, asked in registration order."""

    parsers: list[JsonSourceParser] = field(default_factory=list)

    def add(self, parser: JsonSourceParser) -> JsonSourceParser:
        """Register a JSON source parser."""
        self.parsers.append(parser)
        return parser

    def route(self, document: dict[str, Any]) -> JsonSourceParser | None:
        """The first parser that claims this JSON object, or None."""
        for parser in self.parsers:
            if parser.claims(document):
                return parser
        return None


JSON_ROUTES = JsonRoutes()
