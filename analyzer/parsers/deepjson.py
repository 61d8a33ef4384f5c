"""JSON nested deeper than Python's recursion limit, read without recursion.

``json.loads`` recurses once per level of nesting, so a Hacker News or Reddit export whose
replies nest 100,000 deep (two to five JSON levels per reply) makes it give up with a
``RecursionError``. ``loads`` here walks the document with an explicit stack instead. Strings
and numbers go through the ``json`` module's own scanners, so values are exactly those of
``json.loads`` and every malformed document raises ``json.JSONDecodeError`` with its position.
It is a few times slower than the C decoder, so ``base.load_json`` only falls back to it when
``json.loads`` runs out of recursion.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from json import JSONDecodeError
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, not in the stubs
from json.scanner import NUMBER_RE
from typing import Any, cast

_WS = re.compile(r"[ \t\n\r]*")
_ws = cast("Callable[[str, int], re.Match[str]]", _WS.match)  # matches everywhere (maybe empty)
_LITERALS: tuple[tuple[str, Any], ...] = (
    ("null", None),
    ("true", True),
    ("false", False),
    ("NaN", float("nan")),
    ("Infinity", float("inf")),
    ("-Infinity", float("-inf")),
)


def loads(s: str) -> Any:
    """The JSON document ``s`` as Python values, at any depth."""
    ws = _ws
    pos = ws(s, 0).end()
    stack: list[Any] = []  # open containers, innermost last
    keys: list[str | None] = []  # the pending key of each open object (None for arrays)
    while True:
        # ---- one value starts at pos: a scalar, an empty container, or an opening bracket
        ch = s[pos : pos + 1]
        value: Any
        if ch == "{":
            pos = ws(s, pos + 1).end()
            if s[pos : pos + 1] == "}":
                value, pos = {}, pos + 1
            else:
                key, pos = _key(s, pos)
                stack.append({})
                keys.append(key)
                continue
        elif ch == "[":
            pos = ws(s, pos + 1).end()
            if s[pos : pos + 1] == "]":
                value, pos = [], pos + 1
            else:
                stack.append([])
                keys.append(None)
                continue
        elif ch == '"':
            value, pos = scanstring(s, pos + 1, True)
        else:
            value, pos = _scalar(s, pos)

        # ---- a complete value: store it, closing every container that ends after it
        while True:
            if not stack:
                end = ws(s, pos).end()
                if end != len(s):
                    raise JSONDecodeError("Extra data", s, end)
                return value
            top = stack[-1]
            if keys[-1] is None:
                top.append(value)
            else:
                top[keys[-1]] = value
            pos = ws(s, pos).end()
            ch = s[pos : pos + 1]
            if ch == ",":
                pos = ws(s, pos + 1).end()
                if keys[-1] is not None:
                    keys[-1], pos = _key(s, pos)
                break
            if ch == ("]" if keys[-1] is None else "}"):
                value = stack.pop()
                keys.pop()
                pos += 1
                continue
            raise JSONDecodeError("Expecting ',' delimiter", s, pos)


def _key(s: str, pos: int) -> tuple[str, int]:
    """An object key and its colon; returns the key and where its value starts."""
    if s[pos : pos + 1] != '"':
        raise JSONDecodeError("Expecting property name enclosed in double quotes", s, pos)
    key, pos = scanstring(s, pos + 1, True)
    pos = _ws(s, pos).end()
    if s[pos : pos + 1] != ":":
        raise JSONDecodeError("Expecting ':' delimiter", s, pos)
    return key, _ws(s, pos + 1).end()


def _scalar(s: str, pos: int) -> tuple[Any, int]:
    """A number or literal at ``pos``, read as the json module reads it."""
    m = NUMBER_RE.match(s, pos)
    if m is not None:
        integer, frac, exp = m.groups()
        if frac or exp:
            return float(integer + (frac or "") + (exp or "")), m.end()
        return int(integer), m.end()
    for word, value in _LITERALS:
        if s.startswith(word, pos):
            return value, pos + len(word)
    raise JSONDecodeError("Expecting value", s, pos)
