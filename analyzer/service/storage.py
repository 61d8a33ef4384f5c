"""Putting API traffic in the store, so the dashboard and the review queue see it.

Comments are grouped into threads by their ``thread_id``, else by Perspective's
``communityId``, else into one ``api:default`` thread; API threads are namespaced
(``api:...``) so traffic never rewrites an imported thread's title or source. A reply
whose parent was stored by an earlier call keeps that parent.

One writer thread does all the writing: what arrives while it writes is stored by its next
transaction, so a busy server writes a few large transactions instead of one per request,
and each call's comments and verdicts are in the same transaction (all or nothing).
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from analyzer.store.api import VerdictIn, comment_depths, store_traffic
from analyzer.store.importing import ImportBatch
from analyzer.thread import Comment, Thread

if TYPE_CHECKING:
    from analyzer.scoring.scorer import Scored
    from analyzer.store import Store

API_PREFIX = "api:"
MAX_FLUSH = 2000  # comments per transaction


def thread_key(thread_id: str | None, community_id: str | None) -> str:
    """The stored thread an API comment belongs to."""
    if thread_id:
        return API_PREFIX + thread_id
    if community_id:
        return API_PREFIX + "community:" + community_id
    return API_PREFIX + "default"


def comment_key(text: str, community_id: str | None) -> str:
    """An id for a comment sent without one: the same text in the same community is the same
    comment, so a suggestscore finds the comment an analyze call stored."""
    digest = hashlib.sha256(f"{community_id or ''}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return "p-" + digest[:20]


@dataclass
class ApiComment:
    thread_id: str  # already a thread_key
    id: str
    text: str
    scored: Scored
    parent_id: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Write:
    comments: list[ApiComment]
    verdicts: list[VerdictIn]
    done: Future[None]


def build_threads(store: Store, comments: Sequence[ApiComment]) -> tuple[list[Thread], list[dict[str, Any]]]:
    """Threads and scored records for ``comments``; replies to comments stored earlier keep
    their parent and get the right depth; a reply to a comment nobody sent is attached to
    the thread's root and flagged, like any parser's orphan."""
    groups: dict[str, dict[str, ApiComment]] = {}
    for c in comments:
        groups.setdefault(c.thread_id, {})[c.id] = c  # the latest copy of a comment wins
    threads: list[Thread] = []
    records: list[dict[str, Any]] = []
    for tid, by_id in groups.items():
        wanted = {c.parent_id for c in by_id.values() if c.parent_id and c.parent_id not in by_id}
        stored = comment_depths(store, tid, wanted) if wanted else {}
        nodes, outside = [], {}
        for c in by_id.values():
            parent = c.parent_id
            if parent and parent not in by_id and parent in stored:
                outside[c.id] = parent  # linked after building: Thread.build only sees this call
                parent = None
            nodes.append(
                Comment(
                    id=c.id,
                    text=c.text,
                    parent_id=parent,
                    author=c.author,
                    created_at=c.created_at,
                    created_precision="exact" if c.created_at is not None else None,
                    extra=dict(c.extra),
                )
            )
        title = "API: " + tid[len(API_PREFIX) :]
        thread = Thread.build(tid, nodes, source="api", format="api", extra={"title": title})
        for node in thread.traverse("preorder"):
            if node.id in outside:
                node.parent_id = outside[node.id]
                node.depth = stored[node.parent_id] + 1
            elif node.parent_id is not None:
                node.depth = thread.get(node.parent_id).depth + 1
            scored = by_id[node.id].scored
            record = node.to_record(tid)
            record.update(scores=scored.scores, models=scored.models, windowed=scored.windowed)
            records.append(record)
        threads.append(thread)
    return threads, records


class TrafficWriter:
    """The writer thread. ``submit`` returns a future that completes when the call's
    comments and verdicts are committed (or fails with the store's error)."""

    def __init__(self, store: Store, models: Sequence[Any]) -> None:
        self.store = store
        self.models = list(models)
        self._queue: queue.Queue[_Write | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="analyzer-store-writer", daemon=True)
        self.transactions = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join()

    def submit(self, comments: list[ApiComment], verdicts: list[VerdictIn] | None = None) -> Future[None]:
        done: Future[None] = Future()
        self._queue.put(_Write(comments, list(verdicts or []), done))
        return done

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            writes, n = [first], len(first.comments)
            while n < MAX_FLUSH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                writes.append(nxt)
                n += len(nxt.comments)
            self._flush(writes)

    def _flush(self, writes: list[_Write]) -> None:
        try:
            self._write([c for w in writes for c in w.comments], [v for w in writes for v in w.verdicts])
        except Exception:
            if len(writes) == 1:
                writes[0].done.set_exception(_current_error())
                return
            for w in writes:  # one bad call must not fail the others: retry them one by one
                try:
                    self._write(w.comments, w.verdicts)
                except Exception:
                    w.done.set_exception(_current_error())
                else:
                    w.done.set_result(None)
            return
        for w in writes:
            w.done.set_result(None)

    def _write(self, comments: list[ApiComment], verdicts: list[VerdictIn]) -> None:
        threads, records = build_threads(self.store, comments)
        now = datetime.now(timezone.utc)
        batch = ImportBatch(threads, records, source="api", format="api")
        store_traffic(self.store, batch, models=self.models, verdicts=verdicts, now=now)
        self.transactions += 1


def _current_error() -> BaseException:
    import sys

    exc = sys.exc_info()[1]
    assert exc is not None
    return exc
