"""How compiled rules read an event: dotted fields with fallbacks, each converted once per event.

A ``FieldReader`` is one field as a rule reads it: the mapped name and the raw fields tried, in
order, when the mapped one is absent. An ``EventView`` wraps one event while it is matched; its
``values``, ``strings`` and ``lowered`` caches (dicts that fill themselves on first access)
convert a field once, so the hundreds of rules testing ``process.command_line`` share the work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

# Never searched by keywords nor scanned by the pre-filter: it repeats the parsed fields, escaped
# (a JSON event's backslashes are doubled there).
UNSEARCHED = frozenset({"event.original"})
_SEPARATOR = "\x1f"  # between values in the fallback pre-filter text; never part of a rule literal
# Types orjson would write differently from ``str()``: hand them to ``default=str`` instead.
_DUMPS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# UTF-8 of U+212A KELVIN SIGN and U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE, whose lower case is ASCII.
_KELVIN = "\u212a".encode()
_DOTTED_I = "\u0130".encode()


class FieldReader:
    """One field a rule reads: ``name`` (mapped), then ``fallbacks`` when that is absent."""

    __slots__ = ("fallbacks", "name", "paths")

    def __init__(self, name: str, fallbacks: tuple[str, ...] = ()) -> None:
        self.name = name
        self.fallbacks = fallbacks
        self.paths = tuple((path, tuple(path.split("."))) for path in (name, *fallbacks))

    def read(self, event: Mapping[str, Any]) -> Any:
        """The first present (not None, not empty list) value along the paths, else None.

        A list of objects on the way (``auditd.paths`` -> ``auditd.paths.name``) gives the list of
        each object's value, as a search engine indexes it.
        """
        for flat, parts in self.paths:
            value: Any = event
            for depth, part in enumerate(parts):
                if type(value) is dict or isinstance(value, Mapping):
                    value = value.get(part)
                elif isinstance(value, list):
                    value = _from_each(value, parts[depth:])
                    break
                else:
                    value = None
                if value is None:
                    break
            if value is None and len(parts) > 1:
                value = event.get(flat)  # a flat dotted key, as some shippers send
            if value is not None and value != []:
                return value
        return None

    def __repr__(self) -> str:
        return f"FieldReader({self.name!r}, {self.fallbacks!r})"


def _from_each(items: list[Any], parts: tuple[str, ...]) -> list[Any]:
    """The values at ``parts`` inside each object of a list, flattened."""
    found: list[Any] = []
    for item in items:
        value = FieldReader(".".join(parts)).read(item) if isinstance(item, Mapping) else None
        if isinstance(value, list):
            found.extend(value)
        elif value is not None:
            found.append(value)
    return found


class KeywordReader(FieldReader):
    """Every value of the event (except ``event.original``): what a field-less keyword searches."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("*")

    def read(self, event: Mapping[str, Any]) -> Any:
        """All leaf values of the event, as one list."""
        return searched_values(event)


KEYWORDS = KeywordReader()


class ReaderCatalog:
    """Interns readers so that rules reading the same field share its per-event conversion."""

    def __init__(self) -> None:
        self._readers: dict[tuple[str, tuple[str, ...]], FieldReader] = {}

    def get(self, name: str, fallbacks: tuple[str, ...] = ()) -> FieldReader:
        """The reader for this field and fallback list (one instance per distinct pair)."""
        key = (name, fallbacks)
        reader = self._readers.get(key)
        if reader is None:
            reader = self._readers[key] = FieldReader(name, fallbacks)
        return reader


class _Values(dict[FieldReader, tuple[Any, ...]]):
    """reader -> the field's scalar values (a list field gives each element); () when absent."""

    __slots__ = ("event",)

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event

    def __missing__(self, reader: FieldReader) -> tuple[Any, ...]:
        if reader is KEYWORDS:
            found = self[reader] = tuple(searched_values(self.event))
        else:
            found = self[reader] = _scalars(reader.read(self.event))
        return found


class _Strings(dict[FieldReader, tuple[str, ...]]):
    """reader -> the field's values as text, as Sigma compares them (``true``/``false`` for booleans)."""

    __slots__ = ("values",)

    def __init__(self, values: _Values) -> None:
        self.values = values

    def __missing__(self, reader: FieldReader) -> tuple[str, ...]:
        values = self.values[reader]
        single_text = len(values) == 1 and type(values[0]) is str  # the usual case: nothing to convert
        found = self[reader] = values if single_text else tuple(map(_text, values))
        return found


class _Lowered(dict[FieldReader, tuple[str, ...]]):
    """reader -> the field's text lower-cased: Sigma strings match case-insensitively."""

    __slots__ = ("event", "strings")

    def __init__(self, event: Mapping[str, Any], strings: _Strings) -> None:
        self.event = event
        self.strings = strings

    def __missing__(self, reader: FieldReader) -> tuple[str, ...]:
        if reader is not KEYWORDS and reader not in self.strings:
            value = reader.read(self.event)
            if type(value) is str:  # the usual case, straight from the event
                found = self[reader] = (value.lower(),)
                return found
            if value is None:
                found = self[reader] = ()
                return found
        found = self[reader] = tuple(text.lower() for text in self.strings[reader])
        return found


class EventView:
    """One event while it is matched, with per-field conversions cached.

    ``view.lowered[reader]`` is the usual access: a plain dict lookup once the field was read.
    """

    __slots__ = ("_text", "event", "lowered", "strings", "values")

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self.values = _Values(event)
        self.strings = _Strings(self.values)
        self.lowered = _Lowered(event, self.strings)
        self._text: bytes | None = None

    def present(self, reader: FieldReader) -> bool:
        """Whether the field exists with a value other than null."""
        return bool(self.values[reader])

    def text(self) -> bytes:
        """What the literal pre-filter scans: the event as JSON (without ``event.original``), UTF-8, ASCII lower-cased.

        orjson writes it in C, which is several times faster than walking the event in Python.
        A value's JSON form is its text with ``"``, ``\\`` and control characters escaped, one
        character at a time, so a literal inside a value is inside its JSON form once escaped
        the same way (``literal_form``). An event orjson cannot write (a lone surrogate, a huge
        integer) is scanned as its values, each escaped the same way, joined.
        """
        if self._text is None:
            event = self.event
            meta = event.get("event")
            if type(meta) is dict and "original" in meta:
                meta = dict(meta)
                del meta["original"]
                event = {**event, "event": meta}
            if "event.original" in event:
                event = {key: value for key, value in event.items() if key not in UNSEARCHED}
            try:
                raw = orjson.dumps(event, default=str, option=_DUMPS)
            except (TypeError, orjson.JSONEncodeError):  # each value escaped the same way, one by one
                escaped = map(json_escaped, self.strings[KEYWORDS])
                raw = _SEPARATOR.join(escaped).encode("utf-8", "surrogatepass")
            # bytes.lower() lowers ASCII letters only: the scanner lowers non-ASCII bytes itself, where
            # it looks for them. Two characters lower to ASCII letters (KELVIN SIGN, I WITH DOT
            # ABOVE): a text holding one is lowered in full, so that ASCII literals are still found.
            lookalike = not raw.isascii() and (_KELVIN in raw or _DOTTED_I in raw)
            self._text = _lower_utf8(raw) if lookalike else raw.lower()
        return self._text


def searched_values(event: Mapping[str, Any]) -> list[Any]:
    """Every leaf value of the event except ``event.original`` (lists flattened, nulls dropped)."""
    found: list[Any] = []
    for key, value in event.items():
        if type(value) is str:
            if key not in UNSEARCHED:
                found.append(value)
        elif key == "event" and type(value) is dict:
            for name, item in value.items():
                if name != "original":
                    if type(item) is str:
                        found.append(item)
                    else:
                        _collect(item, found)
        elif key not in UNSEARCHED:
            _collect(value, found)
    return found


def _collect(value: Any, found: list[Any]) -> None:
    kind = type(value)
    if kind is dict or kind is list:
        for item in value.values() if kind is dict else value:
            if type(item) is str:
                found.append(item)
            elif item is not None:
                _collect(item, found)
    elif kind is str:
        found.append(value)
    elif value is not None:
        if isinstance(value, Mapping):
            for item in value.values():
                _collect(item, found)
        elif isinstance(value, list | tuple):
            for item in value:
                _collect(item, found)
        else:
            found.append(value)


def _lower_utf8(raw: bytes) -> bytes:
    return raw.decode("utf-8", "surrogatepass").lower().encode("utf-8", "surrogatepass")


def json_escaped(text: str) -> str:
    """``text`` as it appears inside a JSON string: ``"``, ``\\`` and control characters escaped.

    The standard library escapes exactly like orjson (only those characters, the same short and
    ``\\u00xx`` forms) and, unlike orjson, also accepts lone surrogates.
    """
    return json.dumps(text, ensure_ascii=False)[1:-1]


def literal_form(literal: str) -> bytes:
    """The bytes the pre-filter looks for in ``EventView.text`` to find ``literal`` (lower-cased)."""
    return json_escaped(literal).lower().encode("utf-8", "surrogatepass")


def _scalars(value: Any) -> tuple[Any, ...]:
    if type(value) is str:
        return (value,)
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(item for item in value if item is not None and not isinstance(item, Mapping | list | tuple))
    if isinstance(value, Mapping):
        return ()
    return (value,)


def _text(value: Any) -> str:
    """A value as Sigma compares it: text as is, booleans ``true``/``false``, numbers as JSON writes them."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return orjson.dumps(value).decode()  # JSON's form (1e-7, not Python's 1e-07): the pre-filter scans JSON
    return str(value)
