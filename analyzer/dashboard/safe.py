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


# http(s) links in comment text: no whitespace, quotes, angle brackets, controls or bidi marks.
_URL = re.compile(r"\bhttps?://[^\s<>\"'`\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"*_~"
MAX_URL = 2000
LINK_REL = "nofollow noopener noreferrer"  # no ranking credit, no handle on this page, no referrer


def _url_end(url: str) -> str:
    """``url`` without the sentence punctuation around it ('see http://x.org/a.' ends at 'a');
    a closing bracket stays when the URL opened one (Wikipedia's '..._(band)')."""
    while url:
        last = url[-1]
        if last in _TRAILING or (last in ")]}" and url.count({")": "(", "]": "[", "}": "{"}[last]) < url.count(last)):
            url = url[:-1]
        else:
            break
    return url


def safe_href(url: str) -> str | None:
    """``url`` when it is an absolute http or https link with a host, else None."""
    from urllib.parse import urlsplit

    if len(url) > MAX_URL:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or local_host(parts.hostname):
        return None
    return url


def local_host(host: str) -> bool:
    """Whether ``host`` names this machine or its network (loopback, private, link-local,
    'localhost', '*.local'): such links stay plain text, so that a browser prefetching a
    hovered link can never be made to call a service beside the dashboard."""
    import ipaddress

    name = host.strip("[]").rstrip(".").lower()
    if (
        name == "localhost"
        or name.endswith((".localhost", ".local", ".internal"))
        or ("." not in name and ":" not in name)
    ):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_unspecified


def author_link_html(name: object, href: str | None) -> str:
    """An author's name as HTML: escaped in its own ``<bdi>``, and a same-tab link to the
    Authors page when ``href`` (a relative link we built, see ``tree.author_href``) is given."""
    if href is None:
        return esc_isolated(name)
    return f'<a class="ta-author-link" href="{esc(href)}" target="_self">{esc_isolated(name)}</a>'


_RELATIVE_HREF = re.compile(r"[A-Za-z0-9_./?=&%~+\-]+")  # what urlencode writes: no spaces, brackets or quotes


def md_link(label: object, href: str | None) -> str:
    """A Markdown link to one of our pages (``href`` relative and percent-encoded, as
    ``tree.author_href`` builds it) whose label renders literally; just the escaped label
    when ``href`` is None or holds anything a Markdown link could be broken out of with."""
    text = md_escape(label)
    if href is None or not _RELATIVE_HREF.fullmatch(href) or href.startswith("//"):
        return text
    return f"[{text}]({href})"


def _anchor(href: str, label: str) -> str:
    return f'<a class="ta-link" href="{esc(href)}" target="_blank" rel="{LINK_REL}">{esc(label)}</a>'


def text_html(text: object) -> str:
    """A stranger's text as HTML: every character escaped, bidirectional controls confined
    to it (``<bdi>``), and http/https links made clickable (opened in a new tab, with
    ``rel="nofollow noopener noreferrer"``: no ranking credit, no access to this page, no referrer)."""
    raw = str(text)
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(raw):
        url = _url_end(m.group(0))
        href = safe_href(url)
        if href is None or m.start() < pos:
            continue
        out.append(esc(raw[pos : m.start()]))
        out.append(_anchor(href, url))
        pos = m.start() + len(url)
    out.append(esc(raw[pos:]))
    return "<bdi>" + "".join(out) + "</bdi>"


def shorten(text: object, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis when
    anything was cut ('a long quoted parent…'); a single word longer than that is cut in it."""
    s = str(text)
    if len(s) <= limit:
        return s
    cut = s[: max(1, limit - 1)]
    space = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" \t\n.,;:-") + "…"


def links(text: object, limit: int = 20) -> list[str]:
    """The http/https links in ``text``, in order, each once (at most ``limit``)."""
    found: list[str] = []
    for m in _URL.finditer(str(text)):
        href = safe_href(_url_end(m.group(0)))
        if href is not None and href not in found:
            found.append(href)
        if len(found) >= limit:
            break
    return found


def links_html(urls: Sequence[str]) -> str:
    """Clickable links (escaped, new tab, ``rel="nofollow noopener noreferrer"``) on one line."""
    anchors = [_anchor(u, u) for u in urls]
    return (
        '<div class="ta-links" style="font-size:0.9rem;overflow-wrap:anywhere">Links: ' + " · ".join(anchors) + "</div>"
    )
