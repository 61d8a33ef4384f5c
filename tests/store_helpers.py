"""Test data for the store tests: a made-up model, hand-made scores, synthetic threads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer.store import ModelInfo
    from analyzer.thread import Thread


# ---------------------------------------------------------------------------- test data
def model_info(fingerprint: str = "fp-tox-1", name: str = "test-tox") -> ModelInfo:
    """A made-up toxicity model (no weights: scores in tests are hand-made)."""
    from analyzer.store import ModelInfo

    return ModelInfo(name, fingerprint, "toxicity", ("toxicity", "insult"), {"toxicity": 0.5, "insult": 0.6})


def scored(thread: Thread, scores: dict[str, dict[str, float]], model: ModelInfo | None = None) -> list[dict]:
    """The thread's parse records with hand-made ``scores`` as a Scorer would add them."""
    model = model or model_info()
    out = []
    for record in thread.records():
        s = scores.get(record["id"], {})
        out.append({**record, "scores": s, "models": {label: model.version for label in s}, "windowed": False})
    return out


def import_rows(store: Any, thread_id: str, rows: Sequence[tuple[str, str | None, str, float]], *, source: str) -> None:
    """Store one thread of ``(id, parent, text, toxicity)`` rows (author ``u-<id>``), scored
    by ``model_info()`` with those toxicities."""
    from analyzer.thread import Comment, Thread

    th = Thread.build(thread_id, [Comment(i, x, parent_id=p, author=f"u-{i}") for i, p, x, _ in rows], source=source)
    store.import_threads(
        [th], scored(th, {i: {"toxicity": v} for i, _, _, v in rows}), source=source, models=[model_info()]
    )


def synthetic(seed: int, n_threads: int, per_thread: int, *, prefix: str = "syn") -> tuple[list[Thread], list[dict]]:
    """Deterministic random threads (every comment replies to an earlier one) with scores."""
    import random
    from datetime import datetime, timedelta, timezone

    from analyzer.thread import Comment, Thread

    rng = random.Random(seed)
    threads, records = [], []
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for n in range(n_threads):
        comments = []
        for i in range(per_thread):
            parent = None if i == 0 or rng.random() < 0.2 else f"c{rng.randrange(i)}"
            comments.append(
                Comment(
                    f"c{i}",
                    f"comment {i} of {n} ({seed})",
                    parent_id=parent,
                    author=f"user{rng.randrange(20)}",
                    created_at=start + timedelta(minutes=i),
                )
            )
        thread = Thread.build(f"{prefix}-{seed}-{n}", comments, source=f"synthetic-{seed}")
        threads.append(thread)
        scores = {c.id: {"toxicity": rng.random(), "insult": rng.random() * 0.8} for c in comments}
        records.extend(scored(thread, scores))
    return threads, records
