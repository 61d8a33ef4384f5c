"""In-context scores in the store: what a context model read each comment with (only its
hash is kept) and writing its ``context_scores`` rows.

A context model (its ``models`` row says ``context = "parent"``) scores a reply read with
the comment it answers. Its scores go to ``context_scores``, never to ``scores``, so every
context-free reader (review queue, authors, rules) stays as it was; each row keeps the hash
of the parent text it was read with, so a reply whose parent changed is read again and its
old in-context score replaced.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from analyzer.store import schema as t
from analyzer.thread import Thread


def parent_texts(thread: Thread) -> dict[str, str]:
    """{comment id: the text a context model reads it with} (``Thread.parent_texts``);
    only their hashes are stored."""
    return thread.parent_texts()


def write_context_scores(conn: Connection, thread_id: str, rows: list[dict[str, Any]], *, scored_before: bool) -> int:
    """Insert ``rows`` (comment_pk, revision, model_id, label, value, parent_hash) not stored
    yet; one stored under another parent text is replaced. Returns how many were written."""
    if rows and scored_before:
        cs, c = t.context_scores.c, t.comments.c
        have = {
            (r.comment_pk, r.revision, r.model_id, r.label): r.parent_hash
            for r in conn.execute(
                select(cs.comment_pk, cs.revision, cs.model_id, cs.label, cs.parent_hash)
                .join(t.comments, c.pk == cs.comment_pk)
                .where(c.thread_id == thread_id)
            )
        }
        key = ("comment_pk", "revision", "model_id", "label")
        stale = [r for r in rows if have.get(tuple(r[k] for k in key), r["parent_hash"]) != r["parent_hash"]]
        if stale:  # read under a parent text that has changed since
            conn.execute(
                delete(t.context_scores).where(
                    cs.comment_pk == bindparam("b_pk"),
                    cs.revision == bindparam("b_rev"),
                    cs.model_id == bindparam("b_model"),
                    cs.label == bindparam("b_label"),
                ),
                [
                    {
                        "b_pk": r["comment_pk"],
                        "b_rev": r["revision"],
                        "b_model": r["model_id"],
                        "b_label": r["label"],
                    }
                    for r in stale
                ],
            )
        rows = [r for r in rows if have.get(tuple(r[k] for k in key)) != r["parent_hash"]]
    if rows:
        conn.execute(insert(t.context_scores), rows)
    return len(rows)
