"""What the dashboard keeps between reruns: the store connection and the models
(``st.cache_resource``: one per process, shared by sessions) and per-thread data and
explanations (``st.cache_data``: pure transforms keyed by what they depend on).

The store is ``$THREAD_ANALYZER_DB`` (default ./thread_analyzer.db); the models are the
default models (``$THREAD_ANALYZER_MODELS``, then ``models/``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from analyzer import analytics
from analyzer.analytics.results import HotSubthread, Report, ThreadAuthors
from analyzer.dashboard import params
from analyzer.dashboard.thresholds import effective
from analyzer.errors import AnalyzerError
from analyzer.scoring.defaults import ENV_MODELS
from analyzer.store import ENV_DB, LoadedThread, Store, resolve_url

HOTTEST = 5  # sub-threads listed on the Thread page
TUNED = "tuned_thresholds"  # session key: {label: threshold} chosen on the Models page


def db_target() -> str:
    """The store's URL as text (password included: it is the cache key, never shown)."""
    return resolve_url(os.environ.get(ENV_DB) or None).render_as_string(hide_password=False)


@st.cache_resource(show_spinner="Opening the store…")
def _store(db: str) -> Store:
    return Store.open(db)


def store() -> Store:
    """The store, opened (and created or migrated) once per process."""
    return _store(db_target())


@dataclass
class Models:
    """The scoring models, or why there are none."""

    classifiers: list[Any] = field(default_factory=list)
    error: str | None = None
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)  # fingerprint -> analyzer.json

    def for_label(self, label: str) -> Any | None:
        """The first context-free model providing ``label`` (the one whose score the scorer
        keeps in ``scores``; a context model reads pairs and gives ``context_scores``)."""
        return next(
            (c for c in self.classifiers if label in c.labels and getattr(c, "context", None) != "parent"), None
        )

    def context_for(self, label: str) -> Any | None:
        """The first loaded context model providing ``label`` (it gives ``context_scores``)."""
        return next(
            (c for c in self.classifiers if label in c.labels and getattr(c, "context", None) == "parent"), None
        )

    def labels(self) -> list[str]:
        return list(dict.fromkeys(label for c in self.classifiers for label in c.labels))


def read_meta(folder: str | None) -> dict[str, Any]:
    """A model folder's analyzer.json ({} when missing or unreadable)."""
    if not folder:
        return {}
    try:
        value = json.loads((Path(folder) / "analyzer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@st.cache_resource(show_spinner="Loading the models…")
def _models(roots: str) -> Models:
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.defaults import default_model_dirs

    try:
        classifiers = [Classifier.from_pretrained(d) for d in default_model_dirs()]
    except AnalyzerError as exc:
        return Models([], str(exc))
    return Models(classifiers, None, {c.fingerprint: read_meta(c.config.source) for c in classifiers})


def models() -> Models:
    """The default models, loaded once per process (keyed by $THREAD_ANALYZER_MODELS)."""
    return _models(os.environ.get(ENV_MODELS, ""))


@st.cache_data(show_spinner="Loading the thread…", max_entries=32)
def thread_data(db: str, thread_id: str, version: str) -> LoadedThread:
    """The thread with its current scores; ``version`` (its last change) keys the cache."""
    return _store(db).load_thread(thread_id)


@st.cache_data(show_spinner="Analysing the thread…", max_entries=64)
def thread_report(
    db: str, thread_id: str, version: str, thresholds: tuple[tuple[str, float], ...], use_context: bool = True
) -> Report:
    """Every analytics metric of the thread at these thresholds (in context unless not ``use_context``)."""
    return analytics.report(thread_data(db, thread_id, version), dict(thresholds), use_context=use_context)


@st.cache_data(show_spinner="Finding the hottest sub-threads…", max_entries=64)
def hottest(
    db: str, thread_id: str, version: str, thresholds: tuple[tuple[str, float], ...], use_context: bool = True
) -> list[HotSubthread]:
    """The hottest sub-threads (``analytics.hottest_subthreads``), topped up to five with
    smaller ones, so a toxic comment without replies still counts as a sub-thread of its own."""
    loaded = thread_data(db, thread_id, version)
    thread, scores, t = loaded.thread, loaded.measured(use_context=use_context).scores, dict(thresholds)
    chosen = analytics.hottest_subthreads(thread, scores, t, k=HOTTEST)
    if len(chosen) < HOTTEST:
        taken = {h["comment_id"] for h in chosen}
        for h in analytics.hottest_subthreads(thread, scores, t, k=4 * HOTTEST, min_size=1):
            line = {h["comment_id"], *(a.id for a in thread.ancestors(h["comment_id"]))}
            if len(chosen) >= HOTTEST:
                break
            if line & taken or any(h["comment_id"] in {a.id for a in thread.ancestors(c)} for c in taken):
                continue  # nested in (or around) one already listed
            chosen.append(h)
            taken.add(h["comment_id"])
    return chosen


@st.cache_data(show_spinner="Counting the authors…", max_entries=64)
def thread_authors(
    db: str, thread_id: str, version: str, thresholds: tuple[tuple[str, float], ...], use_context: bool = True
) -> ThreadAuthors:
    """Per-author numbers of the thread (``author_stats.thread_authors``) and its hostile
    exchanges (``author_stats.hostile_exchanges``) at these thresholds."""
    from analyzer.analytics import author_stats

    loaded = thread_data(db, thread_id, version)
    t = dict(thresholds)
    scores = loaded.measured(use_context=use_context).scores
    return {
        "authors": author_stats.thread_authors(loaded.thread, scores, t),
        "exchanges": author_stats.hostile_exchanges(loaded.thread, scores, t),
    }


Words = list[tuple[str, float]]


class Explainer:
    """Word attributions computed off the page's run, one at a time in a background thread
    (integrated gradients takes seconds per comment on a CPU), and kept per model, label,
    text and parent: the Comment page shows its scores at once and the words when they are
    ready. ``result`` explains a comment alone, ``result_pair`` a reply with its parent
    (for a context model: the parent's words and the reply's)."""

    def __init__(self, keep: int = 512) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explain")
        self._done: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._running: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()
        self._keep = keep

    @staticmethod
    def key(clf: Any, label: str, text: str, parent: str | None = None) -> tuple[str, ...]:
        def digest(s: str) -> str:
            return hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()

        return (clf.fingerprint, label, digest(text), "" if parent is None else "parent:" + digest(parent))

    def result(self, clf: Any, label: str, text: str, *, start: bool = True) -> Words | str | None:
        """The words and contributions, an error message, or None while (or before) it runs."""
        from analyzer.scoring.explain import explain

        return self._get(
            self.key(clf, label, text), start, lambda: [(w, float(v)) for w, v in explain(clf, text, label)]
        )

    def result_pair(
        self, clf: Any, label: str, parent: str, text: str, *, start: bool = True
    ) -> tuple[Words, Words] | str | None:
        """(parent words, reply words) with their contributions to the in-context score, an
        error message, or None while (or before) it runs."""
        from analyzer.scoring.explain import explain_pair

        def job() -> tuple[Words, Words]:
            p, r = explain_pair(clf, parent, text, label)
            return [(w, float(v)) for w, v in p], [(w, float(v)) for w, v in r]

        return self._get(self.key(clf, label, text, parent), start, job)

    def _get(self, key: tuple[str, ...], start: bool, job: Any) -> Any:
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            if start and key not in self._running:
                self._running.add(key)
                self._pool.submit(self._run, key, job)
        return None

    def _run(self, key: tuple[str, ...], job: Any) -> None:
        try:
            value = job()
        except Exception as exc:  # shown on the page instead of the words
            value = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._running.discard(key)
            self._done[key] = value
            while len(self._done) > self._keep:
                self._done.popitem(last=False)


@st.cache_resource
def explainer() -> Explainer:
    """The process's one explainer (its results are shared by every session)."""
    return Explainer()


def tuned_thresholds(labels: list[str] | None = None) -> dict[str, float]:
    """Thresholds tuned on the Models page this session, or carried by the link (``t_<label>``)."""
    tuned: dict[str, float] = st.session_state.setdefault(TUNED, {})
    from_link = params.thresholds_from(st.query_params, labels or list(analytics_labels()))
    tuned.update(from_link)
    return dict(tuned)


def link_thresholds() -> dict[str, str]:
    """The session's tuned thresholds as link parameters (``t_<label>``)."""
    return params.threshold_params(tuned_thresholds())


def analytics_labels() -> tuple[str, ...]:
    from analyzer.scoring.labels import CANONICAL_LABELS

    return CANONICAL_LABELS


def thresholds_for(model_thresholds: dict[str, float]) -> dict[str, float]:
    """The thresholds in force for a thread: tuned over the models' own."""
    return effective(model_thresholds, tuned_thresholds())
