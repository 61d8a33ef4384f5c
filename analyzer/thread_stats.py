"""The per-thread summary numbers: the one definition shared by ``analytics.report`` (its
``summary`` section) and the store (its ``thread_stats`` rows, so listing threads never
aggregates comments).

It sits below both, so neither imports the other: pure functions over a ``Thread`` and
its scores, importing only ``analyzer.thread`` and ``analyzer.scoring.labels``. Scores come
as ``{comment_id: {label: probability}}``, thresholds as ``{label: float}``
(``DEFAULT_THRESHOLD`` where missing). The post is context, never counted; a comment's
*toxicity* is its highest toxicity-label probability, and it is *toxic* when any toxicity
label reaches that label's threshold; rates count only scored comments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TypedDict

from analyzer.scoring.labels import DEFAULT_THRESHOLD, SENTIMENT_LABELS
from analyzer.thread import Comment, Thread

Scores = Mapping[str, Mapping[str, float]]
Thresholds = Mapping[str, float]


class Sizes(TypedDict):
    comments: int  # the post excluded
    authors: int  # distinct known authors
    max_depth: int
    mean_depth: float


class LabelStats(TypedDict):
    n: int
    mean: float
    max: float
    p90: float | None
    threshold: float
    share_above: float


class Summary(Sizes):
    """The per-thread numbers: ``analytics.report``'s ``summary`` and the store's ``thread_stats`` row."""

    scored: int
    toxic: int
    toxic_share: float | None
    mean_toxicity: float | None
    p90_toxicity: float | None
    max_toxicity: float | None
    top_label: str | None
    first_at: str | None  # ISO 8601, naive UTC
    last_at: str | None
    risk: float
    labels: dict[str, LabelStats]


STATS_VERSION = 1  # bump when ``summary`` or ``risk_score`` change, so stored statistics are recomputed


def is_toxicity_label(label: str) -> bool:
    """Every label that is not a sentiment class counts as a toxicity label."""
    return label not in SENTIMENT_LABELS


def comment_toxicity(
    scores: Mapping[str, float] | None, thresholds: Thresholds | None = None
) -> tuple[float | None, bool | None]:
    """(toxicity, toxic) of one comment: max toxicity-label probability, and whether any
    toxicity label reaches its threshold; (None, None) when it has no toxicity scores."""
    if not scores:
        return None, None
    thresholds = thresholds or {}
    top: float | None = None
    toxic = False
    for label, value in scores.items():
        if not is_toxicity_label(label) or value is None:
            continue
        v = float(value)
        top = v if top is None or v > top else top
        if v >= thresholds.get(label, DEFAULT_THRESHOLD):
            toxic = True
    return (top, toxic) if top is not None else (None, None)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th quantile (0..1) with linear interpolation between order statistics."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, None when there is no whole."""
    return part / whole if whole else None


def naive_utc(value: datetime) -> datetime:
    """Naive UTC, so aware and naive times compare (naive ones are taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def sizes(thread: Thread) -> Sizes:
    """Comments (post excluded), distinct known authors, and max/mean reply depth (top level = 1)."""
    comments = [c for c in thread.comments]
    depths = [c.depth for c in comments]
    return {
        "comments": len(comments),
        "authors": len({c.author for c in comments if c.author}),
        "max_depth": max(depths, default=0),
        "mean_depth": (sum(depths) / len(depths)) if depths else 0.0,
    }


def label_stats(thread: Thread, scores: Scores, thresholds: Thresholds | None = None) -> dict[str, LabelStats]:
    """Per label over the scored comments: n, mean, max, 90th percentile and share at or above its threshold."""
    thresholds = thresholds or {}
    values: dict[str, list[float]] = {}
    for c in thread.comments:
        for label, v in (scores.get(c.id) or {}).items():
            if v is not None:
                values.setdefault(label, []).append(float(v))
    out: dict[str, LabelStats] = {}
    for label in sorted(values):
        vs = values[label]
        t = float(thresholds.get(label, DEFAULT_THRESHOLD))
        out[label] = {
            "n": len(vs),
            "mean": sum(vs) / len(vs),
            "max": max(vs),
            "p90": percentile(vs, 0.9),
            "threshold": t,
            "share_above": sum(1 for v in vs if v >= t) / len(vs),
        }
    return out


def risk_score(*, scored: int, toxic: int, p90: float | None, max_toxicity: float | None) -> float:
    """Thread risk in [0, 1] for ranking: 0.45 x toxic share shrunk toward 0 for small threads
    (toxic / (scored + 5)) + 0.25 x p90 toxicity + 0.15 x max toxicity + 0.15 x volume of toxic
    comments (log10(1 + toxic) / 3, capped at 1)."""
    if not scored:
        return 0.0
    share = toxic / (scored + 5)
    volume = min(1.0, math.log10(1 + toxic) / 3)
    return 0.45 * share + 0.25 * (p90 or 0.0) + 0.15 * (max_toxicity or 0.0) + 0.15 * volume


def summary_of(
    thread: Thread,
    comments: Sequence[Comment],
    tox: Sequence[float | None],
    toxic_flags: Sequence[bool | None],
    scores: Scores,
    thresholds: Thresholds | None,
) -> Summary:
    """``summary`` from the comments' toxicity already worked out (``comment_toxicity`` of
    each, in the same order), so a full report reads the scores once."""
    values = [t for t in tox if t is not None]
    toxic = sum(1 for x in toxic_flags if x)
    labels = label_stats(thread, scores, thresholds)
    tox_labels = {k: v for k, v in labels.items() if is_toxicity_label(k)}
    times = [naive_utc(c.created_at) for c in comments if c.created_at is not None]
    p90 = percentile(values, 0.9)
    top = max(values) if values else None
    return {
        **sizes(thread),
        "scored": len(values),
        "toxic": toxic,
        "toxic_share": rate(toxic, len(values)),
        "mean_toxicity": (sum(values) / len(values)) if values else None,
        "p90_toxicity": p90,
        "max_toxicity": top,
        "top_label": max(tox_labels, key=lambda k: (tox_labels[k]["share_above"], tox_labels[k]["mean"], k))
        if tox_labels
        else None,
        "first_at": min(times).isoformat() if times else None,
        "last_at": max(times).isoformat() if times else None,
        "risk": risk_score(scored=len(values), toxic=toxic, p90=p90, max_toxicity=top),
        "labels": labels,
    }


def summary(thread: Thread, scores: Scores, thresholds: Thresholds | None = None) -> Summary:
    """The few numbers kept per thread in the store for listing: sizes, toxic share, p90/max
    toxicity, the label most often above threshold, first/last time, per-label stats and risk."""
    comments = list(thread.traverse("preorder", include_post=False))
    pairs = [comment_toxicity(scores.get(c.id), thresholds) for c in comments]
    return summary_of(thread, comments, [p[0] for p in pairs], [p[1] for p in pairs], scores, thresholds)
