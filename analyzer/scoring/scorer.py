"""Run several classifiers over any number of comments, fast and in bounded memory.

The input is consumed in chunks (``chunk_size`` texts at a time), so a million-comment
stream never sits in memory at once. Within a chunk each model tokenizes every new
text once, and windows are batched by length with padding only to the longest in the
batch. Texts already scored by a model (same fingerprint, same normalised text) come
from the cache instead of the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from analyzer.scoring.cache import Entry, ScoreCache, text_key
from analyzer.text import without_lone_surrogates
from analyzer.thread import post_context

if TYPE_CHECKING:
    import torch

    from analyzer.scoring.classifier import Classifier

CPU_BATCH = 32  # best measured on the default models here (16: -9%, 64: -16%)
GPU_BATCH = 256


@dataclass
class Scored:
    """Scores of one text: canonical label -> probability, label -> "name@fingerprint"
    of the model that gave it, and whether any model had to window the text."""

    scores: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    windowed: bool = False


class Scorer:
    """Scores texts or parse records with ``classifiers``.

    When two models provide the same label the first one listed gives it. ``batch_size``
    is windows per forward pass (default: ``CPU_BATCH`` on a CPU, ``GPU_BATCH`` on a GPU,
    where larger batches keep the device busy). ``device``
    moves every model there (default: where each was loaded, CUDA when present);
    ``num_threads`` sets torch's CPU threads for the run. Without a ``cache``,
    identical texts are still scored once per chunk.

    With ``parallel_models`` (default) and several models on the CPU, the models run at
    the same time, each on its share of the threads: small encoders use one core each
    better than two cores together (on 2 cores: +22% int8, +10% float32). With one model
    busy, its batches run that way instead (``Classifier.score_pieces``' ``workers``).
    Batches are the same either way, so the scores are identical.
    """

    def __init__(
        self,
        classifiers: Sequence[Classifier],
        *,
        batch_size: int | None = None,
        device: str | torch.device | None = None,
        cache: ScoreCache | None = None,
        num_threads: int | None = None,
        chunk_size: int = 4096,
        sort_by_length: bool = True,
        parallel_models: bool = True,
        cut_by_cost: bool = False,
    ) -> None:
        self.classifiers = list(classifiers)
        self.batch_size = batch_size
        self.device = device
        self.cache = cache
        self.num_threads = num_threads
        self.chunk_size = chunk_size
        self.sort_by_length = sort_by_length
        self.parallel_models = parallel_models
        self.cut_by_cost = cut_by_cost  # passes cut where padding costs least (Classifier.score_pieces)
        self.model_runs: dict[str, int] = {}  # version -> texts actually run through it
        self._prepared = False

    @property
    def plain_models(self) -> list[Classifier]:
        """The models that read a comment alone: they give ``scores``."""
        return [c for c in self.classifiers if c.context != "parent"]

    @property
    def context_models(self) -> list[Classifier]:
        """The models that read a reply with its parent: they give ``context_scores``."""
        return [c for c in self.classifiers if c.context == "parent"]

    @property
    def labels(self) -> list[str]:
        """Every label ``scores`` reports, in model order."""
        return list(dict.fromkeys(label for clf in self.plain_models for label in clf.labels))

    @property
    def context_labels(self) -> list[str]:
        """Every label ``context_scores`` reports."""
        return list(dict.fromkeys(label for clf in self.context_models for label in clf.labels))

    # ------------------------------------------------------------------ public
    def score_texts(self, texts: Iterable[str]) -> list[Scored]:
        """One ``Scored`` per text, in input order."""
        return list(self.iter_scores(texts))

    def iter_scores(self, texts: Iterable[str]) -> Iterator[Scored]:
        """Like ``score_texts`` but streaming: holds one chunk at a time."""
        iterator = iter(texts)
        while chunk := list(islice(iterator, self.chunk_size)):
            yield from self._score_chunk(chunk)

    def score_pairs(self, pairs: Sequence[tuple[str | None, str]]) -> list[Scored]:
        """Context scores of (parent text, reply text) pairs from the context models, cached
        on (model, reply, parent); an empty ``Scored`` where the scorer has none."""
        self._prepare()
        clean = [(without_lone_surrogates(p or ""), without_lone_surrogates(r)) for p, r in pairs]
        results = [Scored() for _ in clean]
        keys = [f"{text_key(r)}:{text_key(p)}" if r.strip() else None for p, r in clean]
        for clf in self.context_models:
            known = self.cache.get_many(clf.cache_key, {k for k in keys if k}) if self.cache is not None else {}
            todo: dict[str, tuple[str, str]] = {}
            for key, pair in zip(keys, clean):
                if key is not None and key not in known and key not in todo:
                    todo[key] = pair
            fresh = (
                clf.score_pairs(
                    list(todo.values()),
                    batch_size=self.batch_size_for(clf),
                    sort_by_length=self.sort_by_length,
                    workers=self._batch_workers(clf),
                    cut_by_cost=self.cut_by_cost,
                )
                if todo
                else []
            )
            self._merge(clf, keys, results, known, todo, fresh)
        return results

    def score_records(self, records: Iterable[dict[str, Any]], *, text_field: str = "text") -> Iterator[dict[str, Any]]:
        """Each record (posts included) with ``scores``, ``models`` and ``windowed`` added;
        with a context model also ``context_scores`` and ``context_models`` for every reply
        (read with its parent) and top-level comment (read with the post's title and text).
        Records of a thread come parent first (as parsers write them); the input records are
        not modified."""
        contexts = _Contexts(text_field) if self.context_models else None
        iterator = iter(records)
        while chunk := list(islice(iterator, self.chunk_size)):
            scored = self._score_chunk([r.get(text_field) or "" for r in chunk])
            paired: dict[int, Scored] = {}
            if contexts is not None:
                wanted = [(i, contexts.parent_text(r)) for i, r in enumerate(chunk)]
                todo = [(i, p) for i, p in wanted if p is not None]
                for (i, _), res in zip(todo, self.score_pairs([(p, chunk[i].get(text_field) or "") for i, p in todo])):
                    paired[i] = res
            for i, (record, result) in enumerate(zip(chunk, scored)):
                out = dict(record)
                out["scores"] = result.scores
                out["models"] = result.models
                out["windowed"] = result.windowed
                if i in paired:
                    out["context_scores"] = paired[i].scores
                    out["context_models"] = paired[i].models
                yield out

    # ------------------------------------------------------------------ internals
    def _prepare(self) -> None:
        if self._prepared:
            return
        import torch

        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        for clf in self.classifiers:
            if self.device is not None:
                clf.to(self.device)
            clf.model.eval()
        self._prepared = True

    def _batch_workers(self, clf: Classifier) -> int:
        """Batches of one model at a time on a CPU: as many as torch has threads."""
        import torch

        return torch.get_num_threads() if self.parallel_models and clf.device.type == "cpu" else 1

    def batch_size_for(self, clf: Classifier) -> int:
        """The batch size ``clf`` runs with: the one given, else the device's default."""
        if self.batch_size:
            return self.batch_size
        return GPU_BATCH if clf.device.type == "cuda" else CPU_BATCH

    def _run_models(self, todo_by_model: list[dict[str, str]]) -> list[list[Entry]]:
        """Each model's results for its texts to score; the models at once where that helps."""
        import torch

        models = self.plain_models

        def run(i: int) -> list[Entry]:
            todo = todo_by_model[i]
            if not todo:
                return []
            clf = models[i]
            return clf.score(
                list(todo.values()),
                batch_size=self.batch_size_for(clf),
                sort_by_length=self.sort_by_length,
                workers=workers_each,
                cut_by_cost=self.cut_by_cost,
            )

        busy = [i for i, todo in enumerate(todo_by_model) if todo]
        threads = torch.get_num_threads()
        on_cpu = all(models[i].device.type == "cpu" for i in busy)
        # one model busy: its batches share the cores (score_pieces' workers); several: the models do
        workers_each = threads if self.parallel_models and len(busy) == 1 and on_cpu else 1
        if not self.parallel_models or len(busy) < 2 or threads < 2 or not on_cpu:
            return [run(i) for i in range(len(todo_by_model))]
        from concurrent.futures import ThreadPoolExecutor

        workers = min(len(busy), threads)
        torch.set_num_threads(max(1, threads // workers))  # each model's forward gets its share
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="analyzer-model") as pool:
                done = dict(zip(busy, pool.map(run, busy)))
        finally:
            torch.set_num_threads(threads)
        return [done.get(i, []) for i in range(len(todo_by_model))]

    def _score_chunk(self, texts: list[str]) -> list[Scored]:
        self._prepare()
        texts = [without_lone_surrogates(t) for t in texts]  # the tokenizers refuse half characters
        results = [Scored() for _ in texts]
        keys = [text_key(t) if t.strip() else None for t in texts]  # empty text: no scores
        known_by_model: list[dict[str, Entry]] = []
        todo_by_model: list[dict[str, str]] = []
        wanted = {key for key in keys if key is not None}
        for clf in self.plain_models:
            known: dict[str, Entry] = self.cache.get_many(clf.cache_key, wanted) if self.cache is not None else {}
            todo: dict[str, str] = {}
            for key, text in zip(keys, texts):
                if key is not None and key not in known and key not in todo:
                    todo[key] = text
            known_by_model.append(known)
            todo_by_model.append(todo)
        fresh_by_model = self._run_models(todo_by_model)
        for clf, known, todo, fresh in zip(self.plain_models, known_by_model, todo_by_model, fresh_by_model):
            self._merge(clf, keys, results, known, todo, fresh)
        return results

    def _merge(
        self,
        clf: Classifier,
        keys: Sequence[str | None],
        results: list[Scored],
        known: dict[str, Entry],
        todo: Mapping[str, Any],
        fresh: Sequence[Entry],
    ) -> None:
        """Cache and count what ``clf`` just scored, then give each result the labels no
        earlier model gave (the first model listed wins a shared label)."""
        if todo:
            new = dict(zip(todo, fresh))
            self.model_runs[clf.version] = self.model_runs.get(clf.version, 0) + len(new)
            if self.cache is not None:
                self.cache.put_many(clf.cache_key, new)
            known.update(new)
        for key, result in zip(keys, results):
            if key is None:
                continue
            scores, windowed = known[key]
            for label, prob in scores.items():
                if label not in result.scores:
                    result.scores[label] = prob
                    result.models[label] = clf.version
            result.windowed = result.windowed or windowed


class _Contexts:
    """The text each record of the current thread is read with: ``Thread.parent_texts``'
    rule on a stream of records (its parent's text, or for a top-level comment the post's
    title and text). Holds one thread at a time."""

    def __init__(self, text_field: str) -> None:
        self.text_field = text_field
        self.thread: Any = object()
        self.texts: dict[Any, str] = {}
        self.post_id: Any = None
        self.post: str | None = None

    def parent_text(self, record: dict[str, Any]) -> str | None:
        """None for a post, or a top-level comment of a thread without one."""
        if record.get("thread_id") != self.thread:
            self.thread, self.texts, self.post_id, self.post = record.get("thread_id"), {}, None, None
        text = record.get(self.text_field) or ""
        if record.get("kind") == "post":
            extra = record.get("extra") or {}
            title = extra.get("title") if isinstance(extra, dict) else None
            self.post_id = record.get("id")
            self.post = post_context(title, text)
            return None
        self.texts[record.get("id")] = text
        parent_id = record.get("parent_id")
        if parent_id is not None and parent_id != self.post_id and parent_id in self.texts:
            return self.texts[parent_id]
        return self.post
