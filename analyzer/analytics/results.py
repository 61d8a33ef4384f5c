"""The shapes of the thread metrics: what ``analytics.report`` and its parts return, and
what the store keeps (as JSON), ``analyzer report`` prints and the dashboard reads by key.
TypedDicts, so the values stay plain JSON-ready dicts while a type checker sees the keys."""

from __future__ import annotations

from typing import Any, TypedDict


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
    summary: dict[str, Any]  # thread_stats.summary_of: also what the store keeps per thread
    sentiment: SentimentMix
    toxicity_by_depth: list[DepthRow]
    escalation: Escalation
    turning_point: TurningPoint | None
    hottest_subthreads: list[HotSubthread]
    authors: Authors
    over_time: OverTime | None
    repairs: list[Repair]
