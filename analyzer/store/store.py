"""``Store``: the one object the CLI and the dashboard hold. It owns the engine and the
transactions; the work itself lives in ``importing``, ``queries``, ``review`` and
``exporting`` (functions over a connection), so each stays small and testable."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select
from sqlalchemy.engine import URL

from analyzer.store import exporting, importing, overview, queries, review
from analyzer.store import migrate as versions
from analyzer.store import schema as t
from analyzer.store.database import (
    IMPORT_LOCK,
    MIGRATE_LOCK,
    Database,
    StoreError,
    check_sqlite_path,
    make_engine,
    resolve_url,
    translate_errors,
)
from analyzer.store.importing import ImportBatch, ImportSummary
from analyzer.store.queries import LoadedThread
from analyzer.thread import Thread


class Store(Database):
    """A thread store over SQLite (default, one file) or PostgreSQL (by URL).

    Build it with ``Store.open(db)``: that connects, migrates the schema to the newest
    version and refreshes outdated per-thread statistics. Every method runs in its own
    transaction; imports are all-or-nothing.
    """

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(
        cls, db: str | os.PathLike[str] | URL | None = None, *, create: bool = True, migrate: bool = True
    ) -> Store:
        """Open (and with ``create``, make) the store at ``db`` (a path, an SQLite or
        PostgreSQL URL; default $THREAD_ANALYZER_DB or ./thread_analyzer.db)."""
        url = resolve_url(db)
        check_sqlite_path(url, create=create)
        store = cls(make_engine(url))
        try:
            with translate_errors(url):
                store._prepare(create=create, migrate=migrate)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self, *, create: bool, migrate: bool) -> None:
        with self.engine.connect() as conn:
            revision = versions.current_revision(conn)
            conn.rollback()
        head = versions.head_revision()
        if revision is None and not create:
            raise StoreError("no thread-analyzer store here; run `analyzer ingest` first", source=self.url)
        if revision is None and _has_tables(self.engine):
            raise StoreError(
                "this database has tables but no thread-analyzer schema version; use an empty database or a store file",
                source=self.url,
            )
        if revision != head:
            if self.read_only is not None:
                raise StoreError(
                    f"the store is read-only ({self.read_only}) and its schema is version {revision}; "
                    f"open it once with write access to upgrade it to {head}",
                    source=self.url,
                )
            if not migrate:
                raise StoreError(
                    f"the store's schema is version {revision}, this analyzer needs {head}", source=self.url
                )
            with self.write(lock=MIGRATE_LOCK) as conn:
                if versions.current_revision(conn) != head:  # another process may have just done it
                    versions.upgrade(conn)
        if migrate and self.read_only is None:  # a read-only store is shown with the statistics it has
            with self.read() as conn:
                stale = importing.stale_stats(conn)
            if stale:
                with self.write(lock=IMPORT_LOCK) as conn:
                    importing.refresh_stats(conn, importing.stale_stats(conn))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> str | None:
        with self.read() as conn:
            return versions.current_revision(conn)

    # ------------------------------------------------------------------ writing
    def import_threads(
        self,
        threads: Sequence[Thread],
        scored_records: Iterable[Mapping[str, Any]] | None = None,
        *,
        source: str,
        format: str | None = None,
        models: Sequence[Any] = (),
        sha256: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportSummary:
        """Store one source's threads and (optionally) their scored parse records, in one
        transaction. ``models`` are Classifiers or ``ModelInfo``; a record's ``models`` entry
        ("name@fingerprint") says which model gave each score."""
        batch = ImportBatch(list(threads), scored_records, source=source, format=format, sha256=sha256)
        return self.import_batches([batch], models=models, progress=progress)

    def import_batches(
        self,
        batches: Sequence[ImportBatch],
        *,
        models: Sequence[Any] = (),
        now: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportSummary:
        """Store several sources in one transaction: all of them or nothing."""
        with self.write(lock=IMPORT_LOCK) as conn:
            summary = importing.Importer(conn, models, now=now, progress=progress).run(batches)
        if self.dialect == "sqlite" and summary.changed:
            self._checkpoint()
        return summary

    def _checkpoint(self) -> None:
        """Fold the WAL back into the database file after a big write: best effort, waiting
        at most a second for readers (they keep working; the next import tries again)."""
        try:
            with self.engine.connect() as conn:
                previous = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
                conn.exec_driver_sql("PRAGMA busy_timeout = 1000")
                try:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(previous or 0)}")
        except Exception:
            pass

    def add_verdict(
        self,
        thread_id: str,
        comment_id: str,
        *,
        reviewer: str,
        decision: str,
        labels: Mapping[str, Any] | None = None,
        note: str | None = None,
        at: datetime | None = None,
        source: str = "dashboard",
        community_id: str | None = None,
        client_token: str | None = None,
    ) -> int:
        """Record a reviewer's verdict (approve / remove / relabel) on a comment; returns its id.
        ``source`` says where it came from ("dashboard", "cli", "api")."""
        review.validate_verdict(decision, labels)  # before taking the write lock
        with self.write() as conn:
            return review.add_verdict(
                conn,
                thread_id,
                comment_id,
                reviewer=reviewer,
                decision=decision,
                labels=labels,
                note=note,
                at=at,
                source=source,
                community_id=community_id,
                client_token=client_token,
            )

    def refresh_stats(self, thread_ids: Iterable[str] | None = None) -> int:
        """Recompute per-thread statistics (all threads by default); returns how many."""
        with self.write(lock=IMPORT_LOCK) as conn:
            ids = list(thread_ids) if thread_ids is not None else list(conn.execute(select(t.threads.c.id)).scalars())
            return importing.refresh_stats(conn, ids)

    # ------------------------------------------------------------------ reading
    def list_threads(
        self,
        *,
        search: str | None = None,
        min_risk: float | None = None,
        min_comments: int | None = None,
        label: str | None = None,
        source: str | None = None,
        format: str | None = None,
        order: str = "risk",
        limit: int | None = 50,
        offset: int = 0,
        since: datetime | None = None,
        until: datetime | None = None,
        scores: str = "context",
    ) -> list[dict[str, Any]]:
        """Threads with their statistics, riskiest first, by in-context numbers where a context
        model scored a thread unless ``scores="alone"`` (see ``queries.list_threads``)."""
        with self.read() as conn:
            return queries.list_threads(
                conn,
                search=search,
                min_risk=min_risk,
                min_comments=min_comments,
                label=label,
                source=source,
                format=format,
                order=order,
                limit=limit,
                offset=offset,
                since=since,
                until=until,
                scores=scores,
            )

    def count_threads(self, **filters: Any) -> int:
        with self.read() as conn:
            return queries.count_threads(conn, **filters)

    def totals(self, **filters: Any) -> dict[str, Any]:
        """Threads, comments, toxic share and time span over the matching threads, summed
        from the per-thread statistics (see ``overview.totals``)."""
        with self.read() as conn:
            return overview.totals(conn, **filters)

    def daily(self, **filters: Any) -> list[dict[str, Any]]:
        """Comments and toxic comments per day threads started (see ``overview.daily``)."""
        with self.read() as conn:
            return overview.daily(conn, **filters)

    def facets(self) -> dict[str, list[str]]:
        """Distinct formats, sources and top labels, for filter choices."""
        with self.read() as conn:
            return overview.facets(conn)

    def thread_updated_at(self, thread_id: str) -> datetime | None:
        """When the thread last changed (None if unknown)."""
        with self.read() as conn:
            return overview.thread_updated_at(conn, thread_id)

    def load_thread(self, thread_id: str) -> LoadedThread:
        """The thread as a ``Thread`` with current scores, models and thresholds; AnalyzerError if unknown."""
        with self.read() as conn:
            loaded = queries.load_thread_data(conn, thread_id)
        if loaded is None:
            raise StoreError(f"no thread {thread_id!r} in the store", source=self.url)
        return loaded

    def has_thread(self, thread_id: str) -> bool:
        with self.read() as conn:
            return conn.execute(select(t.threads.c.id).where(t.threads.c.id == thread_id)).first() is not None

    def comment(self, thread_id: str, comment_id: str) -> dict[str, Any] | None:
        """One comment with current scores, score history and verdicts (None if unknown)."""
        with self.read() as conn:
            return queries.comment_detail(conn, thread_id, comment_id)

    def verdicts(
        self,
        *,
        thread_id: str | None = None,
        comment_id: str | None = None,
        reviewer: str | None = None,
        decision: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Verdicts, newest first, filtered by any of the arguments."""
        with self.read() as conn:
            return review.verdict_rows(
                conn, thread_id=thread_id, comment_id=comment_id, reviewer=reviewer, decision=decision, limit=limit
            )

    def review_queue(
        self,
        label: str,
        threshold: float | None = None,
        band: float | None = None,
        *,
        limit: int = 50,
        thread_id: str | None = None,
        include_reviewed: bool = False,
    ) -> list[dict[str, Any]]:
        """Comments to review for ``label`` (see ``review.review_queue``)."""
        with self.read() as conn:
            return review.review_queue(
                conn, label, threshold, band, limit=limit, thread_id=thread_id, include_reviewed=include_reviewed
            )

    def verdict_scores(self, label: str) -> list[tuple[float, int]]:
        """(score, reviewer's 0/1 answer) pairs for ``label`` (see ``review.verdict_scores``)."""
        with self.read() as conn:
            return review.verdict_scores(conn, label)

    def models(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return queries.model_list(conn)

    def imports(self, *, limit: int | None = 100) -> list[dict[str, Any]]:
        with self.read() as conn:
            return queries.import_list(conn, limit=limit)

    def scored_text_hashes(self, thread_ids: Iterable[str], fingerprints: Iterable[str]) -> dict[tuple[str, str], str]:
        """{(thread id, comment id): text hash} of stored comments whose current text already
        has scores from every one of ``fingerprints``: the CLI skips re-scoring those."""
        found = self._scored_by_all(t.scores, (t.comments.c.text_hash,), thread_ids, fingerprints)
        return {k: next(iter(v))[0] for k, v in found.items()}

    def has_context_scores(self) -> bool:
        """Whether any comment here was scored in context (the dashboard offers the choice then)."""
        with self.read() as conn:
            return conn.execute(select(t.context_scores.c.comment_pk).limit(1)).first() is not None

    def context_scored_hashes(
        self, thread_ids: Iterable[str], fingerprints: Iterable[str]
    ) -> dict[tuple[str, str], tuple[str, str]]:
        """{(thread id, comment id): (text hash, parent hash)} of stored comments whose current
        text has in-context scores from every one of the context models ``fingerprints``, all
        read under one parent text (its hash): the pipeline reads a reply again only when its
        text or its parent's changed."""
        cols = (t.comments.c.text_hash, t.context_scores.c.parent_hash)
        found = self._scored_by_all(t.context_scores, cols, thread_ids, fingerprints)
        return {k: next(iter(v)) for k, v in found.items() if len(v) == 1}

    def _scored_by_all(
        self, table: Any, cols: tuple[Any, ...], thread_ids: Iterable[str], fingerprints: Iterable[str]
    ) -> dict[tuple[str, str], set[tuple[Any, ...]]]:
        """{(thread id, comment id): the distinct ``cols`` values} of comments whose current
        revision has rows in ``table`` (scores or context_scores) from every model of
        ``fingerprints``; empty when one of them was never stored."""
        wanted = set(fingerprints)
        ids = list(dict.fromkeys(thread_ids))
        out: dict[tuple[str, str], set[tuple[Any, ...]]] = {}
        if not wanted or not ids:
            return out
        with self.read() as conn:
            model_ids = {r.id for r in conn.execute(select(t.models.c.id).where(t.models.c.fingerprint.in_(wanted)))}
            if len(model_ids) < len(wanted):
                return out
            c, s = t.comments.c, table.c
            for i in range(0, len(ids), 500):
                have: dict[tuple[str, str], set[int]] = {}
                values: dict[tuple[str, str], set[tuple[Any, ...]]] = {}
                query = (
                    select(c.thread_id, c.comment_id, s.model_id, *cols)
                    .join(table, (s.comment_pk == c.pk) & (s.revision == c.revision))
                    .where(c.thread_id.in_(ids[i : i + 500]), s.model_id.in_(model_ids))
                    .distinct()
                )
                for tid, cid, mid, *rest in conn.execute(query):
                    have.setdefault((tid, cid), set()).add(mid)
                    values.setdefault((tid, cid), set()).add(tuple(rest))
                out.update({k: values[k] for k, m in have.items() if m == model_ids})
        return out

    # ------------------------------------------------------------------ export
    def export(self, out: str | Path, *, thread_id: str | None = None, raw: bool = False) -> exporting.Written:
        """Comments with current scores and latest verdicts to CSV/Parquet; returns rows written (an
        ``int`` that also tells posts from comments).
        CSV cells a spreadsheet would run as formulas are defused unless ``raw``."""
        exporting.export_format(out)
        with self.read() as conn:
            return exporting.export(conn, out, thread_id=thread_id, raw=raw)

    def export_training(self, out: str | Path, *, task: str = "toxicity") -> int:
        """Verdicts as a training CSV (text + label columns) for ``analyzer train``."""
        with self.read() as conn:
            return exporting.export_training(conn, out, task=task)

    # ------------------------------------------------------------------ authors
    def author_list(self, *, search: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Authors by comment count (see ``authors.author_list``)."""
        from analyzer.store import authors

        with self.read() as conn:
            return authors.author_list(conn, search=search, limit=limit)

    def author_profile(self, author: str) -> dict[str, Any] | None:
        """One author across threads, read in one snapshot (see ``authors.author_profile``)."""
        from analyzer.store import authors

        with self.read() as conn:
            return authors.author_profile(conn, author)


def _has_tables(engine: Engine) -> bool:
    names = set(inspect(engine).get_table_names())
    return bool(names & {tbl.name for tbl in t.metadata.sorted_tables})
