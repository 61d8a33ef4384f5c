"""Writing parsed, scored threads into the store: one transaction, idempotent.

Importing the same content again adds nothing; a comment whose text or metadata changed is
updated in place and its text ``revision`` goes up, so the scores of its old text stay,
keyed by revision and model fingerprint. Per-thread statistics are recomputed for every
thread the import touched, inside the same transaction.

Here: the transaction (``Importer``: one imports-log row per source, what it did in an
``ImportSummary``) and what changed in each thread. The rows' stored form and their SQL:
``store.thread_rows``; score rows and the models behind them, context scores included:
``store.score_rows``; statistics rows: ``store.stats``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from analyzer.scored_thread import ScoredThread
from analyzer.store import schema as t
from analyzer.store.context import parent_texts
from analyzer.store.schema import clean_text
from analyzer.store.score_rows import ModelInfo, ScoreWriter, record_scores, register_models
from analyzer.store.stats import model_thresholds, refresh_stats, stale_stats, write_stats
from analyzer.store.thread_rows import (
    MAX_REPAIR_IDS,
    canonical_json,
    comment_differs,
    comment_values,
    open_thread,
    repair_entries,
    text_hash,
    thread_meta,
    update_thread,
    write_comments,
)
from analyzer.thread import Comment, Thread
from analyzer.thread_stats import naive_utc

# Test hook: when set, an import touches this file half-way through (inside its
# transaction) and sleeps THREAD_ANALYZER_TEST_PAUSE_SECONDS, so tests can kill it there.
ENV_PAUSE_FILE = "THREAD_ANALYZER_TEST_PAUSE_FILE"
ENV_PAUSE_SECONDS = "THREAD_ANALYZER_TEST_PAUSE_SECONDS"
APPROXIMATE = frozenset({"hour", "day", "week", "month", "year"})  # created_precision of relative times


@dataclass
class ImportBatch:
    """The threads parsed from one source (a file), with their scored records if any."""

    threads: Sequence[Thread]
    records: Iterable[Mapping[str, Any]] | None = None
    source: str = "<memory>"
    format: str | None = None
    sha256: str | None = None  # of the source's bytes; computed from the content when None


@dataclass
class ImportSummary:
    """What an import did, for the CLI's last line and the dashboard."""

    sources: int = 0
    sources_seen_before: int = 0
    threads_added: int = 0
    threads_updated: int = 0
    threads_unchanged: int = 0
    # every stored record, the posts among them included (the counts callers have always read)
    comments_added: int = 0
    comments_updated: int = 0
    comments_unchanged: int = 0
    # the posts among those records (a thread's article or submission), so they can be told apart
    posts_added: int = 0
    posts_updated: int = 0
    posts_unchanged: int = 0
    repaired: int = 0
    scores_added: int = 0
    import_ids: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.threads_added or self.threads_updated or self.scores_added)

    @property
    def only_comments(self) -> tuple[int, int, int]:
        """(added, updated, unchanged) comments, posts left out."""
        return (
            self.comments_added - self.posts_added,
            self.comments_updated - self.posts_updated,
            self.comments_unchanged - self.posts_unchanged,
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def content_sha256(threads: Iterable[Thread]) -> str:
    """A hash of what an import would store, for sources that are not files."""
    digest = hashlib.sha256()
    for thread in threads:
        digest.update(b"\x1ethread\x1f" + thread.id.encode("utf-8", "surrogatepass"))
        for c in thread.traverse("preorder"):
            for part in (c.id, c.parent_id, c.author, c.text, c.created_at.isoformat() if c.created_at else None):
                digest.update(b"\x1f" + (part or "\x00").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _pause_point() -> None:
    path = os.environ.get(ENV_PAUSE_FILE)
    if path:
        Path(path).write_text(str(os.getpid()))
        time.sleep(float(os.environ.get(ENV_PAUSE_SECONDS) or 60))


# ---------------------------------------------------------------------------- import
class Importer:
    """One import transaction over ``conn`` (already begun, write-locked)."""

    def __init__(
        self,
        conn: Connection,
        models: Sequence[Any] = (),
        *,
        now: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.conn = conn
        self.now = now or _now()
        self.progress = progress
        self.summary = ImportSummary()
        self.scores = ScoreWriter(conn, [ModelInfo.of(m) for m in models], self.now)

    def run(self, batches: Sequence[ImportBatch]) -> ImportSummary:
        from analyzer.store.alerts import ImportWatch  # rules and alerts: the same transaction

        watch = ImportWatch(self.conn, [th.id for b in batches for th in b.threads], self.now)
        self.scores.register()
        total = sum(len(b.threads) for b in batches)
        done = 0
        pause_at = total // 2 if os.environ.get(ENV_PAUSE_FILE) else -1
        for batch in batches:
            import_id, seen = self._begin_source(batch)
            counts = ImportSummary()
            records = _index_records(batch.records)
            repairs: list[dict[str, Any]] = []
            for thread in batch.threads:
                if done == pause_at:
                    _pause_point()
                self._thread(thread, records.get(thread.id, {}), import_id, batch, counts)
                counts.repaired += sum(len(r.ids) for r in thread.repairs)
                repairs.extend({"thread_id": thread.id, **r} for r in repair_entries(thread))
                done += 1
            if not seen:
                self.conn.execute(
                    update(t.imports)
                    .where(t.imports.c.id == import_id)
                    .values(
                        repairs=repairs,
                        threads=len(batch.threads),
                        comments=counts.comments_added + counts.comments_updated + counts.comments_unchanged,
                        added=counts.comments_added,
                        updated=counts.comments_updated,
                        unchanged=counts.comments_unchanged,
                        repaired=counts.repaired,
                        scores=counts.scores_added,
                    )
                )
            self._add(counts, import_id, seen)
        watch.finish(self.summary.import_ids)
        return self.summary

    def _add(self, counts: ImportSummary, import_id: int, seen: bool) -> None:
        s = self.summary
        s.sources += 1
        s.sources_seen_before += 1 if seen else 0
        for name in (
            "threads_added",
            "threads_updated",
            "threads_unchanged",
            "comments_added",
            "comments_updated",
            "comments_unchanged",
            "posts_added",
            "posts_updated",
            "posts_unchanged",
            "repaired",
            "scores_added",
        ):
            setattr(s, name, getattr(s, name) + getattr(counts, name))
        s.import_ids.append(import_id)

    def _begin_source(self, batch: ImportBatch) -> tuple[int, bool]:
        """The import row for this source and content: the existing one when this exact
        content was imported before (nothing new is logged), else a new one."""
        sha = batch.sha256 or content_sha256(batch.threads)
        found = self.conn.execute(
            select(t.imports.c.id).where(t.imports.c.source == batch.source, t.imports.c.sha256 == sha)
        ).scalar()
        if found is not None:
            return int(found), True
        result = self.conn.execute(
            insert(t.imports).values(
                source=batch.source,
                sha256=sha,
                format=batch.format,
                imported_at=self.now,
                repairs=[],
                threads=0,
                comments=0,
                added=0,
                updated=0,
                unchanged=0,
                repaired=0,
                scores=0,
            )
        )
        return int(result.inserted_primary_key[0]), False  # type: ignore[index]  # set by every INSERT

    # ------------------------------------------------------------------ one thread
    def _thread(
        self,
        thread: Thread,
        records: Mapping[str, Mapping[str, Any]],
        import_id: int,
        batch: ImportBatch,
        counts: ImportSummary,
    ) -> None:
        nodes = list(thread.traverse("preorder"))
        meta = thread_meta(thread, batch.source, batch.format)
        row, existing = open_thread(self.conn, thread.id, import_id, self.now, meta)
        new_rows, updates, revision = self._changes(thread.id, nodes, existing, import_id)
        pks = write_comments(self.conn, thread.id, import_id, new_rows, updates, existing)
        added_scores, label_models = self.scores.write(
            thread.id, nodes, records, pks, revision, scored_before=bool(existing)
        )
        added_context, context_label_models = self.scores.write_context(
            thread, records, pks, revision, scored_before=bool(existing)
        )
        added_scores += added_context
        self._count(counts, nodes, new_rows, updates, added_scores)
        changed = bool(new_rows or updates or added_scores)
        self._touch_thread(row, thread.id, import_id, meta, changed, counts)
        if row is None:
            self._first_stats(thread, nodes, records, label_models, context_label_models)
        elif changed:
            refresh_stats(self.conn, [thread.id], now=self.now)
        if self.progress is not None:
            self.progress(len(nodes))

    def _changes(
        self, thread_id: str, nodes: list[Comment], existing: Mapping[str, Any], import_id: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
        """The comment rows to insert, those to update (the others are stored as they are),
        and every comment's text revision: 1 when new, one up when its text changed."""
        new_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        revision: dict[str, int] = {}
        next_position = max((r.position for r in existing.values()), default=-1) + 1
        for c in nodes:
            cid = clean_text(c.id)  # ids are compared as stored
            values = comment_values(c)
            old = existing.get(cid)
            if old is None:
                values.update(
                    thread_id=thread_id,
                    comment_id=c.id,
                    position=next_position,
                    revision=1,
                    first_import_id=import_id,
                    last_import_id=import_id,
                    updated_at=self.now,
                )
                next_position += 1
                new_rows.append(values)
                revision[cid] = 1
                continue
            if values["created_precision"] in APPROXIMATE and old.created_at is not None:
                # '4 months ago' resolves differently on every run: the first reading stays
                values["created_at"] = naive_utc(old.created_at)
                values["created_precision"] = old.created_precision
            rev = old.revision + (1 if old.text_hash != values["text_hash"] else 0)
            revision[cid] = rev
            if comment_differs(old, values):
                values.update(b_pk=old.pk, revision=rev, last_import_id=import_id, updated_at=self.now)
                updates.append(values)
        return new_rows, updates, revision

    @staticmethod
    def _count(
        counts: ImportSummary,
        nodes: list[Comment],
        new_rows: list[dict[str, Any]],
        updates: list[dict[str, Any]],
        added_scores: int,
    ) -> None:
        counts.comments_added += len(new_rows)
        counts.comments_updated += len(updates)
        counts.comments_unchanged += len(nodes) - len(new_rows) - len(updates)
        posts = sum(1 for c in nodes if c.kind == "post")
        counts.posts_added += sum(1 for r in new_rows if r["kind"] == "post")
        counts.posts_updated += sum(1 for r in updates if r["kind"] == "post")
        counts.posts_unchanged += posts - sum(1 for r in (*new_rows, *updates) if r["kind"] == "post")
        counts.scores_added += added_scores

    def _touch_thread(
        self,
        row: Any | None,
        thread_id: str,
        import_id: int,
        meta: Mapping[str, Any],
        changed: bool,
        counts: ImportSummary,
    ) -> None:
        """Count the thread as added, updated or unchanged; an updated one's row is rewritten."""
        meta_changed = row is not None and any(
            canonical_json(getattr(row, k)) != canonical_json(v) for k, v in meta.items()
        )
        if row is None:
            counts.threads_added += 1
        elif changed or meta_changed:
            counts.threads_updated += 1
            update_thread(self.conn, thread_id, import_id, self.now, meta)
        else:
            counts.threads_unchanged += 1

    def _first_stats(
        self,
        thread: Thread,
        nodes: list[Comment],
        records: Mapping[str, Mapping[str, Any]],
        label_models: Mapping[str, int],
        context_label_models: Mapping[str, int],
    ) -> None:
        """A new thread's statistics row, from the scores just imported (nothing to read back)."""
        scored = ScoredThread(
            thread,
            record_scores(nodes, records, "scores"),
            thresholds=self.scores.thresholds(label_models),
            context_scores=record_scores(nodes, records, "context_scores"),
            context_thresholds=self.scores.thresholds(context_label_models),
        )
        write_stats(self.conn, scored, self.now)


def _index_records(records: Iterable[Mapping[str, Any]] | None) -> dict[str, dict[str, Mapping[str, Any]]]:
    out: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in records or ():
        out.setdefault(str(r["thread_id"]), {})[clean_text(str(r["id"]))] = r
    return out


__all__ = [
    "MAX_REPAIR_IDS",
    "ImportBatch",
    "ImportSummary",
    "Importer",
    "ModelInfo",
    "content_sha256",
    "file_sha256",
    "model_thresholds",
    "parent_texts",
    "refresh_stats",
    "register_models",
    "stale_stats",
    "text_hash",
    "write_stats",
]
