"""Showing hostile text safely. Comment text and author names come from strangers: they
reach the page only through ``st.text``/``st.code``/``st.dataframe`` (never interpreted),
or through the helpers here, which escape every character that HTML or Markdown would read.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

# CommonMark lets any ASCII punctuation be escaped with a backslash.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~=:&\"'$%^@;/?,])")
# Bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI):
# a stranger's unterminated RLO would reverse the rest of a line we wrote around it.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def md_escape(text: object) -> str:
    """``text`` as Markdown that renders literally: no links, images, emphasis, HTML or
    headings; newlines become spaces (labels and messages are one line); bidirectional
    controls are dropped, so a name cannot reorder the label it is part of."""
    flat = " ".join(_BIDI_CONTROLS.sub("", str(text)).split())
    return _MD_SPECIAL.sub(r"\\\1", flat)


def esc(text: object) -> str:
    """HTML-escape anything (quotes too, so the result is safe inside attributes)."""
    return html.escape(str(text), quote=True)


def esc_isolated(text: object) -> str:
    """A stranger's string as HTML text in its own ``<bdi>``: escaped, and whatever
    bidirectional controls it holds reorder only itself, never the text around it."""
    return f"<bdi>{esc(text)}</bdi>"


def attribution_colour(value: float, scale: float) -> str:
    """A translucent background for one word: red pushes the score up, blue pulls it down,
    stronger the larger |value| is against ``scale`` (the largest |value| in the text)."""
    alpha = 0.0 if scale <= 0 else min(1.0, abs(value) / scale) * 0.75
    rgb = "220,38,38" if value > 0 else "37,99,235"
    return f"rgba({rgb},{alpha:.2f})"


def highlight_html(words: Sequence[tuple[str, float]]) -> str:
    """The explained text as HTML: each word escaped in its own span, coloured by its
    contribution, with the value as a tooltip. Word order is kept; spacing is normalised."""
    scale = max((abs(v) for _, v in words), default=0.0)
    spans = [
        f'<span class="ta-word" style="background:{attribution_colour(v, scale)};padding:1px 2px;border-radius:3px" '
        f'title="{v:+.4f}">{esc_isolated(w)}</span>'
        for w, v in words
    ]
    return '<div class="ta-explained" style="line-height:1.9">' + " ".join(spans) + "</div>"


def top_words(words: Sequence[tuple[str, float]], k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` words that pushed the score up the most, strongest first."""
    return sorted((wv for wv in words if wv[1] > 0), key=lambda wv: -wv[1])[:k]
