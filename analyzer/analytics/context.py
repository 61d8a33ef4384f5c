"""Which scores a thread is measured by, and where reading a reply with its parent changed it.

A context model (``"context": "parent"``) gives ``context_scores``: a comment's labels read
with the comment it answers. Metrics use them by default wherever they exist, label by label
in place of the context-free ``scores``; ``use_context=False`` measures the comments alone.
Pure functions, like the rest of ``analytics``.
"""

from __future__ import annotations

from collections.abc import Mapping

from analyzer.analytics.results import ContextJump
from analyzer.text import preview
from analyzer.thread import Thread
from analyzer.thread_stats import Scores

IN_CONTEXT = "in context"
ALONE = "alone"
MARGIN = 0.2  # how much higher in context a score must be to mark a reply "hostile in reply to"


def scores_used(in_context: bool) -> str:
    """How a page or report names the scores its numbers come from."""
    return IN_CONTEXT if in_context else ALONE


def label_name(label: str, in_context: bool) -> str:
    """'toxicity (in context)' or 'toxicity (alone)'."""
    return f"{label} ({scores_used(in_context)})"


def context_jumps(
    thread: Thread,
    scores: Scores,
    context_scores: Scores,
    *,
    label: str = "toxicity",
    margin: float = MARGIN,
) -> dict[str, ContextJump]:
    """{comment id: jump} for every comment whose in-context ``label`` exceeds its
    context-free one by more than ``margin``: ``alone``, ``in_context``, ``delta``, and what
    it answers (``parent_id``, ``parent_author``, ``parent_preview``; the post's title or text
    for a top-level comment, ``parent_kind`` saying which). Strings are the comments' own:
    escape them where they are shown."""
    out: dict[str, ContextJump] = {}
    for cid, in_context in context_scores.items():
        alone = (scores.get(cid) or {}).get(label)
        value = in_context.get(label)
        if alone is None or value is None or cid not in thread or value - alone <= margin:
            continue
        parent = thread.parent(cid)
        if parent is None:
            parent = thread.post
        if parent is None:
            continue
        title = parent.extra.get("title") if parent.kind == "post" and isinstance(parent.extra, Mapping) else None
        out[cid] = {
            "alone": float(alone),
            "in_context": float(value),
            "delta": float(value) - float(alone),
            "parent_id": parent.id,
            "parent_kind": parent.kind,
            "parent_author": parent.author,
            "parent_preview": preview(str(title) if title else parent.text or ""),
        }
    return out
