"""Which source parser refines an event: by syslog program name, by message content, or by JSON shape.

The base parsers (``syslog``, ``jsonl``) read the envelope: time, host, program, message. A source
parser then reads the payload (an sshd message, a FortiGate key=value line, a Sysmon record) and
fills the specific ECS fields. Each source module registers itself here as data: the programs it
owns, an optional cheap content test, and its ``refine`` function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class SourceRoutes:
    """The registry: program name -> parser, plus content sniffers tried in order."""

    by_program: dict[str, SourceParser] = field(default_factory=dict)
    sniffers: list[SourceParser] = field(default_factory=list)

    def add(self, parser: SourceParser) -> SourceParser:
        """Register a parser for its programs and, if it has one, its content sniffer."""
        for program in parser.programs:
            self.by_program[program.lower()] = parser
        if parser.sniff is not None:
            self.sniffers.append(parser)
        return parser

    def route(self, program: str | None, message: str) -> SourceParser | None:
        """The parser for a syslog event: by its program first, else the first sniffer that claims it."""
        if program:
            parser = self.by_program.get(program.lower())
            if parser is not None:
                return parser
        for parser in self.sniffers:
            if parser.sniff is not None and parser.sniff(message):
                return parser
        return None


ROUTES = SourceRoutes()
