"""Per-author numbers: who wrote what in one thread, who answered whom, and who was hostile
to whom; and an author's toxic share over time across threads.

Pure functions over a ``Thread`` and its scores (the same conventions as
``analyzer.analytics``: the post is context, not a comment; *toxic* means any toxicity label
at or above its threshold; shares count scored comments only). Comments without an author
are left out of every per-author number, and so are replies to oneself.

(Named ``author_stats`` rather than ``authors``: ``analyzer.analytics.authors`` is already
the function that ranks a thread's most toxic authors, and a submodule of that name would
replace it on the package.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analyzer.analytics import Scores, Thresholds, comment_toxicity, over_time
from analyzer.analytics.results import AuthorRow, Exchange, ExchangeWith, HistoryTotals, OverTime
from analyzer.thread import Comment, Thread


@dataclass
class _Tally:
    comments: int = 0
    scored: int = 0
    toxic: int = 0
    replies_received: int = 0  # replies by other authors to this author's comments
    replies_given: int = 0  # replies this author wrote to other authors' comments
    toxic_received: int = 0
    toxic_given: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    def seen(self, at: datetime | None) -> None:
        if at is None:
            return
        self.first_at = at if self.first_at is None or at < self.first_at else self.first_at
        self.last_at = at if self.last_at is None or at > self.last_at else self.last_at


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _replies(thread: Thread) -> Iterable[tuple[Comment, Comment]]:
    """(reply, the comment it answers) for every reply to a comment (not to the post), iteratively."""
    for c in thread.traverse("preorder", include_post=False):
        if c.parent_id is None or c.parent_id not in thread:
            continue
        parent = thread.get(c.parent_id)
        if parent.kind == "comment":
            yield c, parent


def thread_authors(thread: Thread, scores: Scores, thresholds: Thresholds | None = None) -> list[AuthorRow]:
    """Every named author of the thread: comments, scored, toxic, toxic share, replies received
    and given (between different authors), how many of those were toxic, first and last
    comment time; most comments first (then most toxic, then name)."""
    per: dict[str, _Tally] = {}
    toxic_of: dict[str, bool] = {}
    for c in thread.traverse("preorder", include_post=False):
        tox, is_toxic = comment_toxicity(scores.get(c.id), thresholds)
        toxic_of[c.id] = bool(is_toxic)
        if not c.author:
            continue
        r = per.setdefault(c.author, _Tally())
        r.comments += 1
        r.seen(c.created_at)
        if tox is not None:
            r.scored += 1
            r.toxic += 1 if is_toxic else 0
    for reply, parent in _replies(thread):
        me, them = reply.author, parent.author
        if not me or not them or me == them:
            continue
        hostile = toxic_of.get(reply.id, False)
        per[me].replies_given += 1
        per[me].toxic_given += 1 if hostile else 0
        per[them].replies_received += 1
        per[them].toxic_received += 1 if hostile else 0
    rows: list[AuthorRow] = [
        {
            "author": a,
            "comments": r.comments,
            "scored": r.scored,
            "toxic": r.toxic,
            "toxic_share": _share(r.toxic, r.scored),
            "replies_received": r.replies_received,
            "replies_given": r.replies_given,
            "toxic_replies_received": r.toxic_received,
            "toxic_replies_given": r.toxic_given,
            "first_at": r.first_at,
            "last_at": r.last_at,
        }
        for a, r in per.items()
    ]
    rows.sort(key=lambda r: (-r["comments"], -r["toxic"], r["author"]))
    return rows


def hostile_exchanges(
    thread: Thread, scores: Scores, thresholds: Thresholds | None = None, *, author: str | None = None
) -> list[Exchange]:
    """Toxic replies between two different authors, one row per ordered pair: ``from`` wrote
    ``toxic`` toxic replies (of ``replies``) to ``to``'s comments; only pairs with at least one
    toxic reply, most first. With ``author``, only pairs that include that author."""
    pairs: dict[tuple[str, str], list[int]] = {}  # (from, to) -> [replies, toxic]
    for reply, parent in _replies(thread):
        me, them = reply.author, parent.author
        if not me or not them or me == them or (author is not None and author not in (me, them)):
            continue
        r = pairs.setdefault((me, them), [0, 0])
        r[0] += 1
        _, is_toxic = comment_toxicity(scores.get(reply.id), thresholds)
        r[1] += 1 if is_toxic else 0
    rows: list[Exchange] = [
        {"from": a, "to": b, "toxic": r[1], "replies": r[0]} for (a, b), r in pairs.items() if r[1] > 0
    ]
    rows.sort(key=lambda r: (-r["toxic"], -r["replies"], r["from"], r["to"]))
    return rows


def exchanges_with(rows: Iterable[Exchange], author: str) -> list[ExchangeWith]:
    """``hostile_exchanges`` rows seen from ``author``: one row per other author, with the
    toxic replies ``author`` sent them and those they sent ``author``, most in total first."""
    out: dict[str, ExchangeWith] = {}
    for r in rows:
        if author not in (r["from"], r["to"]):
            continue
        other = r["to"] if r["from"] == author else r["from"]
        row = out.setdefault(other, {"with": other, "toxic_to_them": 0, "toxic_from_them": 0})
        row["toxic_to_them" if r["from"] == author else "toxic_from_them"] += r["toxic"]
    ranked = list(out.values())
    ranked.sort(key=lambda r: (-(r["toxic_to_them"] + r["toxic_from_them"]), r["with"]))
    return ranked


def author_in_thread(rows: Iterable[AuthorRow], author: str) -> AuthorRow | None:
    """The ``thread_authors`` row of ``author`` (None when they did not comment there)."""
    return next((AuthorRow(**r) for r in rows if r["author"] == author), None)


def history_over_time(
    points: Iterable[Mapping[str, Any]], thresholds: Thresholds | None = None, *, bucket: str | None = None
) -> OverTime | None:
    """An author's comments across threads per time bucket with their toxic share, as
    ``analytics.over_time`` gives it for one thread. ``points`` are the author's comments
    (``created_at``, ``created_precision``, ``scores``: {label: probability}); None when
    none has a time."""
    comments: list[Comment] = []
    scores: dict[str, Mapping[str, float]] = {}
    for i, p in enumerate(points):
        key = f"c{i}"
        comments.append(
            Comment(id=key, text="", created_at=p.get("created_at"), created_precision=p.get("created_precision"))
        )
        scores[key] = p.get("scores") or {}
    if not comments:
        return None
    flat = Thread.build("author-history", comments)
    return over_time(flat, scores, thresholds, bucket=bucket)


def history_totals(points: Iterable[Mapping[str, Any]], thresholds: Thresholds | None = None) -> HistoryTotals:
    """Comments, scored, toxic and toxic share over an author's comments (see ``history_over_time``)."""
    comments = scored = toxic = 0
    for p in points:
        comments += 1
        tox, is_toxic = comment_toxicity(p.get("scores"), thresholds)
        if tox is not None:
            scored += 1
            toxic += 1 if is_toxic else 0
    return {"comments": comments, "scored": scored, "toxic": toxic, "toxic_share": _share(toxic, scored)}
