"""One thread's rows as the store holds them: the thread row's metadata, each comment's
stored form, and reading and writing the comment rows of one thread.

What an import does with them (what is new, what changed, what stays) is
``store.importing``'s; the values here are in the form the database will hold them, so a
re-import of the same content compares equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from analyzer.store import schema as t
from analyzer.store.schema import clean_text
from analyzer.text import preview
from analyzer.thread import Comment, Thread
from analyzer.thread_stats import naive_utc

MAX_REPAIR_IDS = 100  # ids kept per repair in the imports log

__all__ = [
    "MAX_REPAIR_IDS",
    "canonical_json",
    "comment_differs",
    "comment_values",
    "open_thread",
    "repair_entries",
    "stored_comments",
    "text_hash",
    "thread_meta",
    "update_thread",
    "write_comments",
]


def text_hash(text: str) -> str:
    """32 hex characters of sha256 over the text as given (before any storage cleaning)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def canonical_json(value: Any) -> str:
    """One string per JSON value, to compare what is stored with what arrives."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, default=str, separators=(",", ":"))


def _naive_utc(value: datetime | None) -> datetime | None:
    return naive_utc(value) if value is not None else None


def _clean(value: str | None) -> str | None:
    return clean_text(value) if value is not None else None


# ---------------------------------------------------------------------------- the thread row
def thread_meta(thread: Thread, source: str, fmt: str | None) -> dict[str, Any]:
    """The thread row's columns an import sets, from ``source`` read as ``fmt``."""
    return {
        "title": _clean(_title(thread)),
        "source": _clean(source),
        "format": _clean(thread.format or fmt),
        "post_id": _clean(thread.post.id) if thread.post is not None else None,
        "extra": thread.extra,
        "repairs": repair_entries(thread),
    }


def repair_entries(thread: Thread) -> list[dict[str, Any]]:
    """The repairs made to the thread as parsed, as the thread row and the imports log keep them."""
    return [
        {"kind": r.kind, "ids": list(r.ids[:MAX_REPAIR_IDS]), "n_ids": len(r.ids), "message": r.message}
        for r in thread.repairs
    ]


def open_thread(
    conn: Connection, thread_id: str, import_id: int, now: datetime, meta: Mapping[str, Any]
) -> tuple[Any | None, dict[str, Any]]:
    """The thread's stored row and its stored comments by id; a new thread (no row, no
    comments) gets its row inserted."""
    row = conn.execute(select(t.threads).where(t.threads.c.id == thread_id)).first()
    if row is not None:
        return row, stored_comments(conn, thread_id)
    conn.execute(
        insert(t.threads).values(
            id=thread_id,
            first_import_id=import_id,
            last_import_id=import_id,
            created_at=now,
            updated_at=now,
            **meta,
        )
    )
    return None, {}


def update_thread(conn: Connection, thread_id: str, import_id: int, now: datetime, meta: Mapping[str, Any]) -> None:
    """A thread row rewritten by the import that changed it."""
    conn.execute(
        update(t.threads).where(t.threads.c.id == thread_id).values(last_import_id=import_id, updated_at=now, **meta)
    )


def _title(thread: Thread) -> str | None:
    for extra in (thread.extra, thread.post.extra if thread.post is not None else {}):
        title = extra.get("title") if isinstance(extra, Mapping) else None
        if title:
            return str(title)[:300]
    if thread.post is not None and thread.post.text:
        return preview(thread.post.text)
    return None


# ---------------------------------------------------------------------------- comment rows
def comment_values(c: Comment) -> dict[str, Any]:
    """The stored form of a comment's fields (strings as the database will hold them, so a
    re-import compares equal; the text is compared by the hash of its original)."""
    return {
        "kind": c.kind,
        "parent_id": _clean(c.parent_id),
        "depth": c.depth,
        "author": _clean(c.author),
        "author_inferred": bool(c.author_inferred),
        "created_at": _naive_utc(c.created_at),
        "created_precision": _clean(c.created_precision),
        "text": c.text,
        "text_hash": text_hash(c.text),
        "extra": c.extra,
        "flags": list(c.flags),
    }


def comment_differs(old: Any, values: Mapping[str, Any]) -> bool:
    """Whether a stored comment row differs from ``comment_values`` of what arrived."""
    for key in ("kind", "parent_id", "depth", "author", "author_inferred", "created_precision", "text_hash"):
        if getattr(old, key) != values[key]:
            return True
    if _naive_utc(old.created_at) != values["created_at"]:
        return True
    if canonical_json(old.extra) != canonical_json(values["extra"]):
        return True
    return canonical_json(old.flags) != canonical_json(values["flags"])


def stored_comments(conn: Connection, thread_id: str) -> dict[str, Any]:
    """A stored thread's comment rows (the columns a re-import compares) by comment id."""
    c = t.comments.c
    return {
        r.comment_id: r
        for r in conn.execute(
            select(
                c.pk,
                c.comment_id,
                c.kind,
                c.parent_id,
                c.depth,
                c.position,
                c.author,
                c.author_inferred,
                c.created_at,
                c.created_precision,
                c.text_hash,
                c.revision,
                c.extra,
                c.flags,
            ).where(c.thread_id == thread_id)
        )
    }


def write_comments(
    conn: Connection,
    thread_id: str,
    import_id: int,
    new_rows: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    existing: Mapping[str, Any],
) -> dict[str, int]:
    """Insert ``new_rows`` and apply ``updates`` (each with its row's ``b_pk``); returns the
    pk of every comment of the thread by (stored) comment id."""
    inserted: dict[str, int] = {}
    if new_rows and conn.dialect.name == "postgresql":
        # RETURNING makes SQLAlchemy send multi-row VALUES pages (far fewer round trips)
        # and hands back the new keys in order.
        result = conn.execute(insert(t.comments).returning(t.comments.c.pk, sort_by_parameter_order=True), new_rows)
        inserted = {clean_text(row["comment_id"]): pk for row, (pk,) in zip(new_rows, result)}
    elif new_rows:
        conn.execute(insert(t.comments), new_rows)
    if updates:
        # bind names must differ from column names in an UPDATE ... SET
        conn.execute(
            update(t.comments)
            .where(t.comments.c.pk == bindparam("b_pk"))
            .values({k: bindparam("v_" + k) for k in updates[0] if k != "b_pk"}),
            [{("v_" + k if k != "b_pk" else k): v for k, v in u.items()} for u in updates],
        )
    pks = {cid: r.pk for cid, r in existing.items()} | inserted
    if new_rows and not inserted:
        pks.update(
            (cid, pk)
            for cid, pk in conn.execute(
                select(t.comments.c.comment_id, t.comments.c.pk).where(
                    t.comments.c.thread_id == thread_id, t.comments.c.first_import_id == import_id
                )
            )
        )
    return pks
