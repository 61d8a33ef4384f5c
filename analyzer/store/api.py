"""What ``analyzer serve`` writes: comments received through the API and the verdicts of
``comments:suggestscore``, in one transaction per call, so a crash stores a request whole
or not at all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from analyzer.store import review
from analyzer.store import schema as t
from analyzer.store.database import IMPORT_LOCK
from analyzer.store.importing import ImportBatch, Importer, ImportSummary

if TYPE_CHECKING:
    from analyzer.store.database import Database


@dataclass
class VerdictIn:
    """A verdict to record on a comment stored in the same call."""

    thread_id: str
    comment_id: str
    reviewer: str
    decision: str
    labels: Mapping[str, Any]
    community_id: str | None = None
    client_token: str | None = None
    note: str | None = None


def comment_depths(store: Database, thread_id: str, comment_ids: Iterable[str]) -> dict[str, int]:
    """{comment id: depth} of those of ``comment_ids`` the store holds in ``thread_id``."""
    ids = list(dict.fromkeys(comment_ids))
    if not ids:
        return {}
    out: dict[str, int] = {}
    with store.read() as conn:
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                select(t.comments.c.comment_id, t.comments.c.depth).where(
                    t.comments.c.thread_id == thread_id, t.comments.c.comment_id.in_(ids[start : start + 500])
                )
            )
            out.update((r.comment_id, int(r.depth)) for r in rows)
    return out


def store_traffic(
    store: Database,
    batch: ImportBatch,
    *,
    models: Sequence[Any] = (),
    verdicts: Sequence[VerdictIn] = (),
    now: datetime | None = None,
) -> ImportSummary:
    """Store ``batch`` (scored API comments) and then ``verdicts`` on them, all in one
    transaction: a bad verdict stores nothing of the call."""
    for v in verdicts:
        review.validate_verdict(v.decision, v.labels)
    with store.write(lock=IMPORT_LOCK) as conn:
        summary = Importer(conn, models, now=now).run([batch])
        for v in verdicts:
            review.add_verdict(
                conn,
                v.thread_id,
                v.comment_id,
                reviewer=v.reviewer,
                decision=v.decision,
                labels=v.labels,
                note=v.note,
                at=now,
                source="api",
                community_id=v.community_id,
                client_token=v.client_token,
            )
    return summary
