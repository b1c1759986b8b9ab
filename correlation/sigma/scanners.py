"""Multi-literal scanners: which of a fixed set of literals occur in an event's pre-filter text.

Two engines behind one interface: Hyperscan (SIMD, fast; a binary wheel) and pyahocorasick
(Aho-Corasick, portable). ``TextScanner`` splits the literals, because scan cost grows with their
number and some rules list thousands of non-ASCII ones (emoji, homoglyphs): ASCII literals are
looked for in the whole text; a literal with non-ASCII characters is looked for, by its longest
run of non-ASCII bytes, in the text's non-ASCII bytes alone (``text.translate`` drops the
ASCII ones), a few bytes for most events and nothing at all for an ASCII text. Dropping bytes
keeps every run of non-ASCII bytes contiguous, so nothing present is missed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from correlation.sigma.fields import literal_form

_ASCII = bytes(range(128))
_ASCII_TO_NUL = bytes(b if b >= 128 else 0 for b in range(256))


class LiteralScanner(Protocol):
    """Finds which of a fixed set of byte literals occur in a text."""

    def scan(self, text: bytes) -> set[int]:
        """The ids of the literals found in the text."""
        ...


class HyperscanScanner:
    """Hyperscan literal database; each literal is reported once per scan."""

    def __init__(self, forms: Sequence[bytes], ids: Sequence[int]) -> None:
        import hyperscan

        self._hyperscan = hyperscan
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(
            expressions=list(forms),
            ids=list(ids),
            elements=len(forms),
            flags=hyperscan.HS_FLAG_SINGLEMATCH,
            literal=True,
        )
        self._local = threading.local()  # Hyperscan scratch space must not be shared between threads

    def scan(self, text: bytes) -> set[int]:
        """The ids of the literals found in the text."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hyperscan.Scratch(self._database)
        found: set[int] = set()
        add = found.add
        self._database.scan(
            text, match_event_handler=lambda literal, start, end, flags, context: add(literal), scratch=scratch
        )
        return found


class AhoCorasickScanner:
    """pyahocorasick automaton over the literals (decoded: it matches text, not bytes)."""

    def __init__(self, forms: Sequence[bytes], ids: Sequence[int]) -> None:
        import ahocorasick

        owners: dict[str, list[int]] = {}  # two literals can share a form
        for form, literal_id in zip(forms, ids, strict=True):
            owners.setdefault(form.decode("utf-8", "surrogatepass"), []).append(literal_id)
        self._automaton = ahocorasick.Automaton()
        for form, owner_ids in owners.items():
            self._automaton.add_word(form, tuple(owner_ids))
        self._automaton.make_automaton()

    def scan(self, text: bytes) -> set[int]:
        """The ids of the literals found in the text."""
        found: set[int] = set()
        for _, owner_ids in self._automaton.iter(text.decode("utf-8", "surrogatepass")):
            found.update(owner_ids)
        return found


def _hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


SCANNERS: dict[str, Callable[[Sequence[bytes], Sequence[int]], LiteralScanner]] = {
    "hyperscan": HyperscanScanner,
    "ahocorasick": AhoCorasickScanner,
}
DEFAULT_SCANNER = "hyperscan" if _hyperscan_available() else "ahocorasick"


class TextScanner:
    """The literals of a route, split into an ASCII scan of the whole text and a scan near non-ASCII bytes."""

    def __init__(self, literals: Sequence[str], kind: str = DEFAULT_SCANNER) -> None:
        if kind not in SCANNERS:
            raise ValueError(f"unknown literal scanner {kind!r}: expected one of {', '.join(SCANNERS)}")
        forms = [literal_form(literal) for literal in literals]
        narrow = [i for i, form in enumerate(forms) if form.isascii()]
        wide = [i for i, form in enumerate(forms) if not form.isascii()]
        make = SCANNERS[kind]
        self._narrow = make([forms[i] for i in narrow], narrow) if narrow else None
        self._wide = make([_longest_non_ascii_run(forms[i]) for i in wide], wide) if wide else None

    def scan(self, text: bytes) -> set[int]:
        """Indexes (into the literal list) of the literals found in the text (ASCII letters already lowered)."""
        found = self._narrow.scan(text) if self._narrow is not None else set()
        if self._wide is not None and not text.isascii():
            found |= self._wide.scan(_wide_form(text.translate(None, _ASCII)))
        return found


def _wide_form(raw: bytes) -> bytes:
    """Non-ASCII bytes lower-cased, with final sigma folded into sigma (its form depends on neighbours)."""
    return raw.decode("utf-8", "surrogatepass").lower().replace("\u03c2", "\u03c3").encode("utf-8", "surrogatepass")


def _longest_non_ascii_run(form: bytes) -> bytes:
    runs = form.translate(_ASCII_TO_NUL).split(b"\0")
    return _wide_form(max(runs, key=len))
