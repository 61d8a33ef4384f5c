"""Reading rendered HTML back in the hostile-input tests."""

from __future__ import annotations

import html.parser


def start_tags(body: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every start tag of ``body`` with its attributes, in document order."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class _Tags(html.parser.HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    _Tags().feed(body)
    return found
