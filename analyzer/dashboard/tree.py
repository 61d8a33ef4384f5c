"""The reply tree as the Thread page shows it: flattened rows in reading order, the
"above threshold, with their ancestors" filter, colours, paging by top-level
sub-thread, and the HTML of the collapsible tree (every stranger's string escaped).

All walks are iterative (reply chains can be very deep), and the HTML nests at most
``MAX_NEST`` levels: deeper replies are drawn at that level, marked with their depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from urllib.parse import urlencode

from analyzer.dashboard.params import MAX_PARAM
from analyzer.dashboard.safe import author_link_html, esc, text_html
from analyzer.thread import Thread

MAX_NEST = 24
APPROXIMATE = frozenset({"hour", "day", "week", "month", "year"})
NO_SCORE_COLOUR = "#9ca3af"


@dataclass(frozen=True)
class Row:
    """One comment as displayed. ``context`` is True for an ancestor shown only so that a
    comment above the threshold keeps its conversation around it."""

    id: str
    parent_id: str | None
    depth: int
    author: str | None
    author_inferred: bool
    created_at: datetime | None
    created_precision: str | None
    text: str
    scores: Mapping[str, float]
    value: float | None  # the chosen label's score
    above: bool
    context: bool = False
    flags: tuple[str, ...] = field(default_factory=tuple)


def score_colour(value: float | None) -> str:
    """Green (0) through amber (0.5) to red (1), as #rrggbb; grey when unscored."""
    if value is None:
        return NO_SCORE_COLOUR
    v = min(1.0, max(0.0, float(value)))
    stops = ((0.0, (22, 163, 74)), (0.5, (245, 158, 11)), (1.0, (220, 38, 38)))
    for (x0, c0), (x1, c1) in pairwise(stops):
        if v <= x1:
            f = (v - x0) / (x1 - x0)
            r, g, b = (round(a + (b_ - a) * f) for a, b_ in zip(c0, c1))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#dc2626"


def rows_of(thread: Thread, scores: Mapping[str, Mapping[str, float]], label: str, threshold: float) -> list[Row]:
    """Every comment (the post left out) in reading order with the chosen label's score."""
    out: list[Row] = []
    for c in thread.traverse("preorder", include_post=False):
        s = scores.get(c.id) or {}
        value = s.get(label)
        out.append(
            Row(
                id=c.id,
                parent_id=c.parent_id
                if c.parent_id is not None and c.parent_id in thread and thread.get(c.parent_id).kind == "comment"
                else None,
                depth=c.depth,
                author=c.author,
                author_inferred=c.author_inferred,
                created_at=c.created_at,
                created_precision=c.created_precision,
                text=c.text,
                scores=dict(s),
                value=value,
                above=value is not None and value >= threshold,
                flags=tuple(c.flags),
            )
        )
    return out


def with_ancestors(rows: Sequence[Row], keep: Iterable[str]) -> list[Row]:
    """The rows in ``keep`` plus every ancestor of them (marked ``context``), in reading order."""
    by_id = {r.id: r for r in rows}
    wanted = set(k for k in keep if k in by_id)
    context: set[str] = set()
    for cid in list(wanted):
        parent = by_id[cid].parent_id
        while parent is not None and parent not in wanted and parent not in context and parent in by_id:
            context.add(parent)
            parent = by_id[parent].parent_id
    out = []
    for r in rows:
        if r.id in wanted:
            out.append(r)
        elif r.id in context:
            out.append(Row(**{**r.__dict__, "context": True}))
    return out


def above_with_ancestors(rows: Sequence[Row]) -> list[Row]:
    """Only the comments at or above the threshold, with their ancestors for context."""
    return with_ancestors(rows, (r.id for r in rows if r.above))


def roots(rows: Sequence[Row]) -> list[int]:
    """Indexes of the rows that start a top-level sub-thread (no parent among the rows)."""
    present = {r.id for r in rows}
    return [i for i, r in enumerate(rows) if r.parent_id is None or r.parent_id not in present]


def page_bounds(rows: Sequence[Row], per_page: int, budget: int | None = None) -> list[tuple[int, int]]:
    """(start, end) row indexes of each page: whole top-level sub-threads, at most ``per_page``
    of them, and no more once a page holds ``budget`` rows (a single bigger sub-thread gets
    a page of its own), so a page of a big thread stays quick to draw."""
    starts = roots(rows)
    bounds: list[tuple[int, int]] = []
    first, count = None, 0
    for i, start in enumerate(starts):
        if first is None:
            first, count = start, 0
        count += 1
        end = starts[i + 1] if i + 1 < len(starts) else len(rows)
        if count >= per_page or (budget is not None and end - first >= budget) or end == len(rows):
            bounds.append((first, end))
            first = None
    return bounds


def page_of(rows: Sequence[Row], page: int, per_page: int, budget: int | None = None) -> tuple[list[Row], int]:
    """The rows of page ``page`` (0-based; see ``page_bounds``) and how many pages there are;
    a page out of range gives the last one."""
    bounds = page_bounds(rows, per_page, budget)
    if not bounds:
        return [], 1
    first, end = bounds[min(max(0, page), len(bounds) - 1)]
    return list(rows[first:end]), len(bounds)


def when(row: Row) -> str:
    """The comment's time for display: ISO minutes, '≈' before times read from '4 months ago'."""
    if row.created_at is None:
        return ""
    text = row.created_at.strftime("%Y-%m-%d %H:%M")
    return ("≈ " + text[:10]) if row.created_precision in APPROXIMATE else text


def score_summary(scores: Mapping[str, float], limit: int = 6) -> str:
    """'toxicity 0.91 · insult 0.40 …': the highest scores first."""
    top = sorted(scores.items(), key=lambda kv: -kv[1])[:limit]
    return " · ".join(f"{k} {v:.2f}" for k, v in top)


def comment_href(thread_id: str, comment_id: str, extra: Mapping[str, str] | None = None) -> str:
    """A relative link to the Comment page (query values percent-encoded)."""
    return "comment?" + urlencode({"thread": thread_id, "comment": comment_id, **(extra or {})})


def author_href(author: str | None, thread_id: str | None = None, extra: Mapping[str, str] | None = None) -> str | None:
    """A relative link to the Authors page (query values percent-encoded); None without an
    author, or for a name longer than a link parameter may be (``params.MAX_PARAM``)."""
    if not author or len(author) > MAX_PARAM:
        return None
    query = {"author": author, **({"thread": thread_id} if thread_id is not None else {}), **(extra or {})}
    return "authors?" + urlencode(query)


def _header(row: Row, label: str, marks: Sequence[str], href: str | None, author_link: str | None = None) -> str:
    author = author_link_html(row.author, author_link) if row.author else "<i>anonymous</i>"
    if row.author and row.author_inferred:
        author = f'{author} <i class="ta-inferred" title="author inferred from the page layout">(inferred)</i>'
    value = "—" if row.value is None else f"{row.value:.2f}"
    parts = [
        f'<b class="ta-author">{author}</b>',
        f'<span class="ta-time" style="color:#6b7280">{esc(when(row))}</span>',
        f'<span class="ta-score" style="background:{score_colour(row.value)};color:#fff;border-radius:4px;'
        f'padding:0 4px">{esc(label)} {value}</span>',
    ]
    if row.depth > MAX_NEST:
        parts.append(f'<span style="color:#6b7280">depth {row.depth}</span>')
    for mark in marks:
        parts.append(
            f'<span class="ta-mark" style="background:#111827;color:#fde68a;border-radius:4px;'
            f'padding:0 4px">{esc(mark)}</span>'
        )
    if href is not None:
        parts.append(f'<a class="ta-open" href="{esc(href)}" target="_self">open</a>')
    return " ".join(parts)


def tree_html(
    rows: Sequence[Row],
    *,
    label: str,
    marks: Mapping[str, Sequence[str]] | None = None,
    href: Callable[[Row], str] | None = None,
    max_nest: int = MAX_NEST,
    author_link: Callable[[Row], str | None] | None = None,
) -> str:
    """The rows (reading order, every row's parent before it) as nested, open ``<details>``:
    each comment collapsible with its replies, its left border coloured by the chosen
    label's score. Data attributes (comment id, parent id, depth) let tests check nesting.
    ``author_link`` gives each row's link to its author on the Authors page."""
    marks = marks or {}
    out: list[str] = ['<div class="ta-tree" style="font-size:0.92rem">']
    stack: list[int] = []  # nesting levels currently open
    for row in rows:
        level = min(row.depth, max_nest)
        while stack and stack[-1] >= level:
            out.append("</div></details>")
            stack.pop()
        colour = score_colour(row.value)
        # context rows are faded, their replies not (opacity on the whole block would compound down the tree)
        fade = ";opacity:0.6" if row.context else ""
        scores = score_summary(row.scores)
        who = author_link(row) if author_link else None
        out.append(
            f'<details open class="ta-c" data-comment-id="{esc(row.id)}" data-parent-id="{esc(row.parent_id or "")}" '
            f'data-depth="{row.depth}" data-above="{int(row.above)}" data-context="{int(row.context)}" '
            f'style="border-left:4px solid {colour};margin:4px 0 4px 0;padding:2px 0 2px 8px">'
            f'<summary style="cursor:pointer{fade}">'
            f"{_header(row, label, marks.get(row.id, ()), href(row) if href else None, who)}</summary>"
            f'<div class="ta-text" style="white-space:pre-wrap;margin:2px 0{fade}">{text_html(row.text)}</div>'
            f'<div class="ta-scores" style="color:#6b7280;font-size:0.8rem{fade}">{esc(scores)}</div>'
            f'<div class="ta-replies" style="margin-left:14px">'
        )
        stack.append(level)
    out.extend("</div></details>" for _ in stack)
    out.append("</div>")
    return "".join(out)


def mark_map(
    turning_point: Mapping[str, object] | None, hottest: Sequence[Mapping[str, object]]
) -> dict[str, list[str]]:
    """Badges by comment id: the turning point and the roots of the hottest sub-threads."""
    marks: dict[str, list[str]] = {}
    if turning_point:
        marks.setdefault(str(turning_point["comment_id"]), []).append("turning point")
    for rank, h in enumerate(hottest, 1):
        marks.setdefault(str(h["comment_id"]), []).append(f"hot sub-thread #{rank}")
    return marks
