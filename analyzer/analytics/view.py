"""The view every thread metric reads: the comments in reading order with their toxicity,
their parents and replies as indices, computed once per report."""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.thread import Comment, Thread
from analyzer.thread_stats import Scores, Thresholds, comment_toxicity


@dataclass
class View:
    """The comments in reading (pre-order) order with their toxicity, computed once and
    shared by every metric of a report."""

    thread: Thread
    comments: list[Comment]
    index: dict[str, int]
    tox: list[float | None]
    toxic: list[bool | None]
    parent: list[int]  # index of the parent comment, -1 for top-level (the post is not a comment)
    children: list[list[int]] = field(default_factory=list)

    @classmethod
    def of(cls, thread: Thread, scores: Scores, thresholds: Thresholds | None) -> View:
        comments = list(thread.traverse("preorder", include_post=False))
        index = {c.id: i for i, c in enumerate(comments)}
        tox: list[float | None] = []
        toxic: list[bool | None] = []
        for c in comments:
            t, is_toxic = comment_toxicity(scores.get(c.id), thresholds)
            tox.append(t)
            toxic.append(is_toxic)
        parent = [index.get(c.parent_id, -1) if c.parent_id is not None else -1 for c in comments]
        children: list[list[int]] = [[] for _ in comments]
        for i, p in enumerate(parent):
            if p >= 0:
                children[p].append(i)
        return cls(thread, comments, index, tox, toxic, parent, children)

    def subtree_counts(self) -> tuple[list[int], list[int], list[int], list[float]]:
        """Per comment, over its sub-thread (itself included): comments, scored, toxic,
        sum of toxicity. Pre-order lists children after parents, so a reverse sweep works."""
        n = len(self.comments)
        size, scored, toxic = [1] * n, [0] * n, [0] * n
        total = [0.0] * n
        for i in range(n - 1, -1, -1):
            if (tox := self.tox[i]) is not None:
                scored[i] += 1
                total[i] += tox
                toxic[i] += 1 if self.toxic[i] else 0
            p = self.parent[i]
            if p >= 0:
                size[p] += size[i]
                scored[p] += scored[i]
                toxic[p] += toxic[i]
                total[p] += total[i]
        return size, scored, toxic, total
