"""The shapes of the thread metrics: what ``analytics.report`` and its parts return, and
what the store keeps (as JSON), ``analyzer report`` prints and the dashboard reads by key.
TypedDicts, so the values stay plain JSON-ready dicts while a type checker sees the keys."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from analyzer.thread_stats import Summary


class SentimentMix(TypedDict):
    n: int  # comments with a sentiment score
    share: dict[str, float | None]  # label -> share of comments whose most likely sentiment it is
    mean: dict[str, float | None]  # label -> mean probability


class DepthRow(TypedDict):
    depth: int
    comments: int
    scored: int
    toxic: int
    rate: float | None
    mean_toxicity: float | None


class DepthBand(DepthRow):
    """A ``DepthRow``, or deeper rows merged into one band (``depth`` to ``depth_to``)."""

    label: str  # "3" or "13-4200"
    depth_to: int


class PathTrend(TypedDict):
    paths: int
    mean_slope: float | None
    rising_share: float | None


class Escalation(TypedDict):
    reply_pairs: int
    base_rate: float | None
    p_toxic_after_toxic: float | None
    p_toxic_after_clean: float | None
    ratio: float | None
    path_trend: PathTrend


class TurningPoint(TypedDict):
    comment_id: str
    author: str | None
    depth: int
    created_at: str | None
    replies: int
    before_rate: float
    after_rate: float
    jump: float
    candidates: int
    preview: str


class HotSubthread(TypedDict):
    comment_id: str
    author: str | None
    depth: int
    comments: int
    scored: int
    toxic: int
    rate: float
    mean_toxicity: float
    heat: float
    preview: str


class ToxicAuthor(TypedDict):
    author: str
    comments: int
    scored: int
    toxic: int
    rate: float
    mean_toxicity: float
    max_toxicity: float


class HostilePair(TypedDict):
    authors: list[str]
    exchanges: int
    hostile: int
    hostile_by: dict[str, int]


class Authors(TypedDict):
    most_toxic: list[ToxicAuthor]
    hostile_pairs: list[HostilePair]


class TimeRow(TypedDict):
    start: str
    comments: int
    scored: int
    toxic: int
    rate: float | None
    mean_toxicity: float | None


class OverTime(TypedDict):
    bucket: str
    timed: int
    untimed: int
    series: list[TimeRow]


class Repair(TypedDict):
    kind: str
    ids: list[str]
    message: str


class Report(TypedDict):
    thread_id: str
    scores_used: str
    context_available: bool
    summary: Summary  # thread_stats.summary_of: also what the store keeps per thread
    sentiment: SentimentMix
    toxicity_by_depth: list[DepthRow]
    escalation: Escalation
    turning_point: TurningPoint | None
    hottest_subthreads: list[HotSubthread]
    authors: Authors
    over_time: OverTime | None
    repairs: list[Repair]


class AuthorRow(TypedDict):
    """One named author of a thread (``author_stats.thread_authors``)."""

    author: str
    comments: int
    scored: int
    toxic: int
    toxic_share: float | None
    replies_received: int
    replies_given: int
    toxic_replies_received: int
    toxic_replies_given: int
    first_at: datetime | None
    last_at: datetime | None


# ``from`` is a keyword, hence the functional form: ``from`` wrote ``toxic`` toxic replies (of ``replies``) to ``to``
Exchange = TypedDict("Exchange", {"from": str, "to": str, "toxic": int, "replies": int})


# hostile exchanges seen from one author (``author_stats.exchanges_with``): ``with`` is the other author
ExchangeWith = TypedDict("ExchangeWith", {"with": str, "toxic_to_them": int, "toxic_from_them": int})


class HistoryTotals(TypedDict):
    comments: int
    scored: int
    toxic: int
    toxic_share: float | None


class ContextJump(TypedDict):
    """A reply much more toxic read with what it answers (``context.context_jumps``)."""

    alone: float
    in_context: float
    delta: float
    parent_id: str
    parent_kind: str
    parent_author: str | None
    parent_preview: str


class ThreadAuthors(TypedDict):
    """A thread's authors and the hostile exchanges between them (the Authors page)."""

    authors: list[AuthorRow]
    exchanges: list[Exchange]
