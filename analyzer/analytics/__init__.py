"""Thread analytics: pure functions over a ``Thread`` and its scores.

Scores come as ``{comment_id: {label: probability}}`` (canonical labels, see
``analyzer.scoring.labels``); thresholds as ``{label: float}`` (``DEFAULT_THRESHOLD`` where missing). Nothing here
touches a database or a model, so the CLI, the store (per-thread statistics) and the
dashboard all compute the same numbers, and tests check them on hand-built trees.

Conventions used by every metric:
- The post (when a thread has one) is context, not a comment: it is never counted.
- A comment's *toxicity* is its highest probability over the toxicity labels present;
  it is *toxic* when any toxicity label is at or above that label's threshold.
- Rates count only comments that have toxicity scores ("scored").
- Every walk over the tree is iterative: reply chains can be 100,000 deep.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from analyzer.analytics.context import scores_used
from analyzer.analytics.results import (
    Authors,
    DepthBand,
    DepthRow,
    Escalation,
    HotSubthread,
    PathTrend,
    Report,
    SentimentMix,
    TurningPoint,
)
from analyzer.analytics.timeline import over_time, over_time_in
from analyzer.analytics.view import View
from analyzer.scored_thread import ScoredThread
from analyzer.scoring.labels import DEFAULT_THRESHOLD, SENTIMENT_LABELS
from analyzer.text import PREVIEW_CHARS, preview
from analyzer.thread import Thread
from analyzer.thread_stats import (
    STATS_VERSION,
    Scores,
    Thresholds,
    comment_toxicity,
    is_toxicity_label,
    label_stats,
    percentile,
    risk_score,
    sizes,
    summary,
    summary_of,
)
from analyzer.thread_stats import naive_utc as _utc
from analyzer.thread_stats import rate as _rate

__all__ = [
    "DEFAULT_THRESHOLD",
    "PREVIEW_CHARS",
    "STATS_VERSION",
    "Scores",
    "Thresholds",
    "authors",
    "comment_toxicity",
    "depth_bands",
    "escalation",
    "hottest_subthreads",
    "is_toxicity_label",
    "label_stats",
    "over_time",
    "percentile",
    "report",
    "risk_score",
    "sentiment_mix",
    "sizes",
    "summary",
    "toxicity_by_depth",
    "turning_point",
]


# ---------------------------------------------------------------------------- helpers
def _iso(value: datetime | None) -> str | None:
    return _utc(value).isoformat() if value is not None else None


# ---------------------------------------------------------------------------- metrics
def sentiment_mix(thread: Thread, scores: Scores) -> SentimentMix:
    """Share of comments whose most likely sentiment is negative/neutral/positive, and mean probabilities."""
    counts: Counter[str] = Counter()
    sums = {label: 0.0 for label in SENTIMENT_LABELS}
    n = 0
    for c in thread.comments:
        s = {k: float(v) for k, v in (scores.get(c.id) or {}).items() if k in SENTIMENT_LABELS and v is not None}
        if not s:
            continue
        n += 1
        counts[max(s, key=lambda k: (s[k], -SENTIMENT_LABELS.index(k)))] += 1
        for k, v in s.items():
            sums[k] += v
    return {
        "n": n,
        "share": {label: (counts[label] / n if n else None) for label in SENTIMENT_LABELS},
        "mean": {label: (sums[label] / n if n else None) for label in SENTIMENT_LABELS},
    }


def _toxicity_by_depth(view: View) -> list[DepthRow]:
    rows: dict[int, list[Any]] = {}
    for c, t, toxic in zip(view.comments, view.tox, view.toxic):
        r = rows.setdefault(c.depth, [0, 0, 0, 0.0])
        r[0] += 1
        if t is not None:
            r[1] += 1
            r[2] += 1 if toxic else 0
            r[3] += t
    return [
        {
            "depth": d,
            "comments": r[0],
            "scored": r[1],
            "toxic": r[2],
            "rate": _rate(r[2], r[1]),
            "mean_toxicity": (r[3] / r[1]) if r[1] else None,
        }
        for d, r in sorted(rows.items())
    ]


def depth_bands(by_depth: Sequence[DepthRow], max_rows: int = 24, *, exact: int = 12) -> list[DepthBand]:
    """``toxicity_by_depth`` rows fit for a table or chart: the first ``exact`` depths as they
    are, deeper ones merged into at most ``max_rows - exact`` bands of equal width (a
    100,000-deep chain is 24 rows, not 100,000). Each row gains ``label`` ("3" or "13-4200")
    and ``depth_to``; counts add up, the mean toxicity is weighted by scored comments."""
    rows: list[DepthBand] = [{**r, "label": str(r["depth"]), "depth_to": r["depth"]} for r in by_depth]
    if len(rows) <= max_rows:
        return rows
    head, tail = rows[:exact], rows[exact:]
    bands = max(1, max_rows - exact)
    first, last = tail[0]["depth"], tail[-1]["depth"]
    width = -(-(last - first + 1) // bands)  # ceiling division
    merged: dict[int, dict[str, Any]] = {}
    for r in tail:
        k = (r["depth"] - first) // width
        m = merged.setdefault(
            k, {"depth": r["depth"], "depth_to": r["depth"], "comments": 0, "scored": 0, "toxic": 0, "_sum": 0.0}
        )
        m["depth_to"] = r["depth"]
        m["comments"] += r["comments"]
        m["scored"] += r["scored"]
        m["toxic"] += r["toxic"]
        m["_sum"] += (r["mean_toxicity"] or 0.0) * r["scored"]
    out = list(head)
    for _, m in sorted(merged.items()):
        total = m.pop("_sum")
        m["rate"] = _rate(m["toxic"], m["scored"])
        m["mean_toxicity"] = total / m["scored"] if m["scored"] else None
        m["label"] = str(m["depth"]) if m["depth"] == m["depth_to"] else f"{m['depth']}-{m['depth_to']}"
        out.append(cast(DepthBand, m))
    return out


def toxicity_by_depth(thread: Thread, scores: Scores, thresholds: Thresholds | None = None) -> list[DepthRow]:
    """Per reply depth: comments, scored, toxic, toxic rate and mean toxicity."""
    return _toxicity_by_depth(View.of(thread, scores, thresholds))


def _escalation(view: View) -> Escalation:
    scored = sum(1 for t in view.tox if t is not None)
    toxic = sum(1 for x in view.toxic if x)
    base = _rate(toxic, scored)
    pairs = after_toxic = toxic_after_toxic = toxic_after_clean = 0
    for i, p in enumerate(view.parent):
        if p < 0 or view.toxic[i] is None or view.toxic[p] is None:
            continue
        pairs += 1
        if view.toxic[p]:
            after_toxic += 1
            toxic_after_toxic += 1 if view.toxic[i] else 0
        else:
            toxic_after_clean += 1 if view.toxic[i] else 0
    p_tt = _rate(toxic_after_toxic, after_toxic)
    p_tc = _rate(toxic_after_clean, pairs - after_toxic)
    return {
        "reply_pairs": pairs,
        "base_rate": base,
        "p_toxic_after_toxic": p_tt,
        "p_toxic_after_clean": p_tc,
        "ratio": (p_tt / base) if (p_tt is not None and base) else None,
        "path_trend": _path_trend(view),
    }


def _path_trend(view: View) -> PathTrend:
    """Least-squares slope of toxicity against depth on every root-to-leaf path, from running
    sums carried down the tree (O(comments), however many and however long the paths)."""
    n = len(view.comments)
    # running (count, sum x, sum y, sum xy, sum xx) over the scored comments from the top to i
    acc: list[tuple[int, float, float, float, float]] = [(0, 0.0, 0.0, 0.0, 0.0)] * n
    slopes: list[float] = []
    for i in range(n):  # pre-order: a parent's sums are ready before its replies
        p = view.parent[i]
        k, sx, sy, sxy, sxx = acc[p] if p >= 0 else (0, 0.0, 0.0, 0.0, 0.0)
        t = view.tox[i]
        if t is not None:
            x = float(view.comments[i].depth)
            k, sx, sy, sxy, sxx = k + 1, sx + x, sy + t, sxy + x * t, sxx + x * x
        acc[i] = (k, sx, sy, sxy, sxx)
        if not view.children[i] and k >= 2:
            var = sxx - sx * sx / k
            if var > 1e-12:
                slopes.append((sxy - sx * sy / k) / var)
    return {
        "paths": len(slopes),
        "mean_slope": (sum(slopes) / len(slopes)) if slopes else None,
        "rising_share": (sum(1 for s in slopes if s > 0) / len(slopes)) if slopes else None,
    }


def escalation(thread: Thread, scores: Scores, thresholds: Thresholds | None = None) -> Escalation:
    """P(reply toxic | parent toxic) against the base rate (``ratio`` > 1: toxicity breeds toxicity),
    and the mean per-depth slope of toxicity along root-to-leaf paths (> 0: chains heat up)."""
    return _escalation(View.of(thread, scores, thresholds))


def _turning_point(view: View, *, min_subthread: int, min_jump: float) -> TurningPoint | None:
    size, scored, toxic, _ = view.subtree_counts()
    all_scored = sum(1 for t in view.tox if t is not None)
    all_toxic = sum(1 for x in view.toxic if x)
    candidates: list[tuple[int, float, float, float]] = []
    for i in range(len(view.comments)):
        own_scored = 1 if view.tox[i] is not None else 0
        own_toxic = 1 if view.toxic[i] else 0
        after_n, after_t = scored[i] - own_scored, toxic[i] - own_toxic
        rest_n, rest_t = all_scored - scored[i], all_toxic - toxic[i]
        if after_n < min_subthread or rest_n < 1:
            continue
        after, before = after_t / after_n, rest_t / rest_n
        if after - before >= min_jump:
            candidates.append((i, before, after, after - before))
    if not candidates:
        return None
    stamps = [view.comments[i].created_at for i, *_ in candidates]
    times = [t for t in stamps if t is not None]
    if len(times) == len(stamps):
        first = min(range(len(candidates)), key=lambda k: (_utc(times[k]), candidates[k][0]))
    else:
        first = 0  # candidates are in reading (pre-order) order
    i, before, after, jump = candidates[first]
    c = view.comments[i]
    return {
        "comment_id": c.id,
        "author": c.author,
        "depth": c.depth,
        "created_at": _iso(c.created_at),
        "replies": size[i] - 1,
        "before_rate": before,
        "after_rate": after,
        "jump": jump,
        "candidates": len(candidates),
        "preview": preview(c.text),
    }


def turning_point(
    thread: Thread,
    scores: Scores,
    thresholds: Thresholds | None = None,
    *,
    min_subthread: int = 3,
    min_jump: float = 0.25,
) -> TurningPoint | None:
    """Earliest comment whose replies (>= min_subthread scored) are toxic at a rate at least
    ``min_jump`` above the rest of the thread's; ``jump`` = that difference. None if no such comment."""
    return _turning_point(View.of(thread, scores, thresholds), min_subthread=min_subthread, min_jump=min_jump)


def _hottest(view: View, *, k: int, min_size: int) -> list[HotSubthread]:
    size, scored, toxic, total = view.subtree_counts()
    end = [i + s for i, s in enumerate(size)]
    ranked = sorted(
        (i for i in range(len(view.comments)) if scored[i] >= min_size and toxic[i] > 0),
        key=lambda i: (-(toxic[i] ** 2) / scored[i], -toxic[i], i),
    )
    chosen: list[int] = []
    for i in ranked:
        if len(chosen) >= k:
            break
        if any(i < end[j] and j < end[i] for j in chosen):  # pre-order intervals overlap: nested
            continue
        chosen.append(i)
    out: list[HotSubthread] = []
    for i in chosen:
        c = view.comments[i]
        out.append(
            {
                "comment_id": c.id,
                "author": c.author,
                "depth": c.depth,
                "comments": size[i],
                "scored": scored[i],
                "toxic": toxic[i],
                "rate": toxic[i] / scored[i],
                "mean_toxicity": total[i] / scored[i],
                "heat": toxic[i] ** 2 / scored[i],
                "preview": preview(c.text),
            }
        )
    return out


def hottest_subthreads(
    thread: Thread, scores: Scores, thresholds: Thresholds | None = None, *, k: int = 5, min_size: int = 3
) -> list[HotSubthread]:
    """Top ``k`` non-nested sub-threads (a comment and all its replies, >= min_size scored) by
    heat = toxic comments x toxic rate (toxic^2 / scored): big and concentrated ranks first."""
    return _hottest(View.of(thread, scores, thresholds), k=k, min_size=min_size)


def _authors(view: View, *, k: int) -> Authors:
    per: dict[str, list[Any]] = {}
    for c, t, toxic in zip(view.comments, view.tox, view.toxic):
        if not c.author:
            continue
        r = per.setdefault(c.author, [0, 0, 0, 0.0, 0.0])  # comments, scored, toxic, sum, max
        r[0] += 1
        if t is not None:
            r[1] += 1
            r[2] += 1 if toxic else 0
            r[3] += t
            r[4] = max(r[4], t)
    most = sorted((a for a, r in per.items() if r[2] > 0), key=lambda a: (-per[a][2], -per[a][2] / per[a][1], a))
    pairs: dict[tuple[str, str], list[int]] = {}  # (a, b) sorted -> exchanges, hostile, a->b hostile, b->a hostile
    for i, p in enumerate(view.parent):
        if p < 0:
            continue
        me, them = view.comments[i].author, view.comments[p].author
        if not me or not them or me == them:
            continue
        key = (me, them) if me < them else (them, me)
        r = pairs.setdefault(key, [0, 0, 0, 0])
        r[0] += 1
        if view.toxic[i]:
            r[1] += 1
            r[2 if me == key[0] else 3] += 1
    hostile = sorted(
        (key for key, r in pairs.items() if r[1] > 0), key=lambda key: (-pairs[key][1], -pairs[key][0], key)
    )
    return {
        "most_toxic": [
            {
                "author": a,
                "comments": per[a][0],
                "scored": per[a][1],
                "toxic": per[a][2],
                "rate": per[a][2] / per[a][1],
                "mean_toxicity": per[a][3] / per[a][1],
                "max_toxicity": per[a][4],
            }
            for a in most[:k]
        ],
        "hostile_pairs": [
            {
                "authors": list(key),
                "exchanges": pairs[key][0],
                "hostile": pairs[key][1],
                "hostile_by": {key[0]: pairs[key][2], key[1]: pairs[key][3]},
            }
            for key in hostile[:k]
        ],
    }


def authors(thread: Thread, scores: Scores, thresholds: Thresholds | None = None, *, k: int = 10) -> Authors:
    """Most toxic authors (by toxic comments, then rate), and author pairs ranked by toxic replies
    between them in either direction (self-replies and unknown authors left out)."""
    return _authors(View.of(thread, scores, thresholds), k=k)


def report(scored: ScoredThread, thresholds: Thresholds | None = None, *, use_context: bool = True) -> Report:
    """Every metric of this module for one scored thread, as plain JSON-ready values. Where a
    context model gave in-context scores the metrics use them (``ScoredThread.measured``)
    unless ``use_context`` is False; ``scores_used`` says which ("in context" or "alone") and
    ``context_available`` whether there were any. ``thresholds``, when given, are those in
    force instead of the models' own (a dashboard page's tuned choice)."""
    thread = scored.thread
    scores, thresholds, in_context = scored.measured(use_context=use_context, thresholds=thresholds)
    view = View.of(thread, scores, thresholds)
    return {
        "thread_id": thread.id,
        "scores_used": scores_used(in_context),
        "context_available": scored.has_context,
        "summary": summary_of(thread, view.comments, view.tox, view.toxic, scores, thresholds),
        "sentiment": sentiment_mix(thread, scores),
        "toxicity_by_depth": _toxicity_by_depth(view),
        "escalation": _escalation(view),
        "turning_point": _turning_point(view, min_subthread=3, min_jump=0.25),
        "hottest_subthreads": _hottest(view, k=5, min_size=3),
        "authors": _authors(view, k=10),
        "over_time": over_time_in(view, bucket=None),
        "repairs": [{"kind": r.kind, "ids": list(r.ids), "message": r.message} for r in thread.repairs],
    }
