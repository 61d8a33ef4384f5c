"""Text that every encoder, tokenizer and database accepts, whatever a platform sent.

JSON can escape half a character (``"\\ud83d"``): Python keeps it as a lone surrogate,
which UTF-8, the tokenizers and PostgreSQL all refuse. It becomes U+FFFD (the replacement
character) wherever strangers' strings enter the analyzer.
"""

from __future__ import annotations

import re
from typing import Any

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
PREVIEW_CHARS = 120  # a comment's one-line preview in reports, titles and lists


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """``text`` on one line (whitespace runs made single spaces), cut to ``limit``
    characters with an ellipsis when longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def without_lone_surrogates(value: str) -> str:
    """``value`` with every lone surrogate replaced by U+FFFD (itself when there is none)."""
    if value.isascii() or LONE_SURROGATE.search(value) is None:
        return value
    return LONE_SURROGATE.sub("\ufffd", value)


def clean_json_value(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings, numbers) with lone surrogates replaced in
    every string and key, fixed in place (a dict with a bad key is rebuilt); walked
    iteratively, so any nesting depth is safe."""
    if isinstance(value, str):
        return without_lone_surrogates(value)
    root: list[Any] = [value]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (container, its parent, its key there)
    while stack:
        node, parent, key = stack.pop()
        if isinstance(node, dict):
            if any(isinstance(k, str) and without_lone_surrogates(k) is not k for k in node):
                node = {without_lone_surrogates(k) if isinstance(k, str) else k: v for k, v in node.items()}
                parent[key] = node
            items: Any = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        for k, v in items:
            if isinstance(v, str):
                fixed = without_lone_surrogates(v)
                if fixed is not v:
                    node[k] = fixed
            elif isinstance(v, (dict, list)):
                stack.append((v, node, k))
    return root[0]
