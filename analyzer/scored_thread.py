"""A thread with its comments' scores: the one shape a scored thread has between the stages.

Scoring (the service's thread route, ``Store.load_thread``) produces it; analytics
(``analytics.report``), the store's per-thread statistics, ``analyzer report``, the
service and the dashboard consume it. One text's scores are ``scoring.scorer.Scored``; a
stream of scored comments on disk or between processes is the parse-record format
(``analyzer score`` output, ``ImportBatch.records``), which stays a stream so millions of
comments never sit in memory at once.

It also holds the one rule for measuring a thread by in-context scores where a context
model gave them (``with_context``, ``ScoredThread.measured``): analytics and the store
both apply it, and it sits below both so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from analyzer.thread import Thread
from analyzer.thread_stats import Scores


def with_context(scores: Scores, context_scores: Scores | None) -> dict[str, dict[str, float]]:
    """Each comment's scores with its in-context ones in place of the context-free ones,
    label by label (a label only the context-free model gives keeps its score)."""
    out = {cid: dict(s) for cid, s in scores.items()}
    for cid, s in (context_scores or {}).items():
        out.setdefault(cid, {}).update({k: float(v) for k, v in s.items() if v is not None})
    return out


class Measured(NamedTuple):
    """The scores and thresholds a thread's numbers come from, and whether in context."""

    scores: dict[str, dict[str, float]]
    thresholds: dict[str, float]
    in_context: bool


@dataclass
class ScoredThread:
    """``thread`` and the current scores of its comments (the post's included where scored).

    ``models`` and ``thresholds`` are per label: the ``name@fingerprint`` of the model that
    gave it and that model's threshold. The ``context_*`` three are the same for a context
    model's in-context scores (a reply read with the comment it answers), kept beside the
    context-free ones, never mixed into them; empty without a context model."""

    thread: Thread
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    context_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    context_models: dict[str, str] = field(default_factory=dict)
    context_thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def has_context(self) -> bool:
        """Whether a context model scored any comment of it."""
        return any(self.context_scores.values())

    def measured(self, *, use_context: bool = True, thresholds: Mapping[str, float] | None = None) -> Measured:
        """What to measure the thread by: with ``use_context`` and any in-context score, each
        comment's in-context values replace its context-free ones label by label, and the
        context model's thresholds those labels' thresholds; else the scores alone.
        ``thresholds``, when given, are the ones in force (a page's tuned choice) instead of
        the models' own."""
        in_context = use_context and self.has_context
        if thresholds is not None:
            chosen = dict(thresholds)
        elif in_context:
            chosen = {**self.thresholds, **self.context_thresholds}
        else:
            chosen = dict(self.thresholds)
        return Measured(with_context(self.scores, self.context_scores if in_context else None), chosen, in_context)
