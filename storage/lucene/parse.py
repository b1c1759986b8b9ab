"""Parse an analyst's Lucene query string once, with errors that name the position."""

from __future__ import annotations

import re
import threading
from decimal import InvalidOperation

from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import parser
from luqum.tree import Fuzzy, Item, Proximity, Regex, SearchField

from storage.base import QueryError

_AT_POSITION = re.compile(r"at position (\d+)")
# luqum's parser is a module-level PLY parser with shared state: one parse at a time.
_LOCK = threading.Lock()


def parse_query(query: str) -> Item | None:
    """Parse ``query``; None means match everything (empty or ``*``). Raises QueryError."""
    text = (query or "").strip()
    if text in ("", "*", "*:*"):
        return None
    try:
        with _LOCK:
            tree = parser.parse(text)
    except (ParseError, IllegalCharacterError) as exc:
        message = str(exc)
        m = _AT_POSITION.search(message)
        position = int(m.group(1)) if m else len(text)
        reason = message.split(":", 1)[-1].strip().rstrip("!")
        reason = _AT_POSITION.sub("", reason).replace("at the end", "").strip()
        raise QueryError(
            f"invalid query at position {position}: {reason or 'syntax error'}", query, position
        ) from None
    except InvalidOperation:  # luqum reads a boost such as ^3 as a Decimal and fails on ^310.0.0.0
        position = max(text.find("^"), 0)
        raise QueryError(
            f"invalid query at position {position}: a boost (^) must be a plain number", query, position
        ) from None
    _check_fields(tree, text)
    return tree


# Forms luqum parses that the embedded store and the in-memory matcher cannot run; OpenSearch
# could, but every backend must answer the same query the same way.
_UNSUPPORTED: dict[type, str] = {
    Fuzzy: "fuzzy search (~) is not supported; use a wildcard such as adm*",
    Proximity: 'proximity search ("..."~N) is not supported; use a phrase without ~',
    Regex: "regular expressions (/.../) are not supported; use wildcards * and ?",
}


def _check_fields(tree: Item, text: str) -> None:
    """Reject forms luqum accepts but not every backend can run, such as ``a:b:c`` or ``a~1``."""
    for node in _walk(tree):
        reason = _UNSUPPORTED.get(type(node))
        if reason is not None:
            position = node.pos if node.pos is not None else 0
            raise QueryError(f"unsupported query at position {position}: {reason}", text, position)
        if isinstance(node, SearchField) and isinstance(node.expr, SearchField):
            position = node.pos if node.pos is not None else 0
            raise QueryError(
                f"invalid query at position {position}: field {node.name!r} is followed by another field "
                f"{node.expr.name!r}; escape ':' in values as '\\:'",
                text,
                position,
            )


def _walk(node: Item):
    yield node
    for child in node.children:
        yield from _walk(child)
