"""The service's working parts, apart from HTTP: the models (loaded once), the
micro-batcher that runs them, the store writer, and language detection."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from analyzer.scoring.labels import DEFAULT_THRESHOLD
from analyzer.scoring.scorer import Scored, Scorer
from analyzer.service.batching import MicroBatcher
from analyzer.service.config import ServiceConfig
from analyzer.service.keys import KeyRing, Limiter
from analyzer.service.model_process import ModelProcess
from analyzer.service.storage import ApiComment, TrafficWriter

if TYPE_CHECKING:
    from analyzer.scoring.classifier import Classifier
    from analyzer.store import Store
    from analyzer.store.api import VerdictIn

# Languages the detector may answer: the widely written ones (a short English comment is
# otherwise easily taken for one of 97 rarer languages).
DETECTABLE = [
    "en",
    "es",
    "pt",
    "fr",
    "de",
    "it",
    "nl",
    "sv",
    "da",
    "no",
    "fi",
    "pl",
    "cs",
    "sk",
    "hu",
    "ro",
    "tr",
    "ru",
    "uk",
    "bg",
    "el",
    "ar",
    "he",
    "fa",
    "hi",
    "bn",
    "ur",
    "id",
    "ms",
    "vi",
    "th",
    "zh",
    "ja",
    "ko",
    "tl",
    "sw",
]


class Service:
    """Everything a request needs. Constructed with ready parts; ``start``/``stop`` run
    inside the server's event loop (its lifespan)."""

    def __init__(
        self,
        config: ServiceConfig,
        classifiers: Sequence[Classifier],
        *,
        store: Store | None = None,
        keys: KeyRing | None = None,
    ) -> None:
        self.config = config
        self.classifiers = list(classifiers)
        # on a CPU, short passes over length-sorted texts, cut where padding costs least (see
        # ServiceConfig.forward_batch); a GPU keeps the scorer's own batch size
        on_cpu = all(clf.device.type == "cpu" for clf in self.classifiers)
        forward_batch = config.forward_batch if on_cpu else None
        self.scorer = Scorer(self.classifiers, batch_size=forward_batch, cut_by_cost=on_cpu)
        self.store = store
        self.keys = keys or KeyRing([])
        self.limiter = Limiter(config.rate, config.burst, config.daily_quota)
        # the same model folders loaded by a child process, which then does the scoring
        self.model_process = (
            ModelProcess(config.model_dirs, precision=config.precision, forward_batch=forward_batch)
            if config.model_process and config.model_dirs
            else None
        )
        scorer: Scorer | ModelProcess = self.model_process or self.scorer
        self.batcher: MicroBatcher[str, Scored] = MicroBatcher(
            scorer.score_texts, max_batch=config.max_batch, max_wait=config.max_wait_ms / 1000
        )
        # a context model reads (parent, reply) pairs: its own batcher, since its inputs differ
        self.pair_batcher: MicroBatcher[tuple[str, str], Scored] | None = (
            MicroBatcher(scorer.score_pairs, max_batch=config.max_batch, max_wait=config.max_wait_ms / 1000)
            if self.scorer.context_models
            else None
        )
        self.writer = TrafficWriter(store, self.classifiers) if store is not None else None
        self._identifier: Any = None
        self._thresholds: dict[str, float] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self.model_process is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.model_process.start)
        await self.batcher.start()
        if self.pair_batcher is not None:
            await self.pair_batcher.start()
        if self.writer is not None:
            self.writer.start()
        if self.config.detect_languages:
            await asyncio.get_running_loop().run_in_executor(None, self._load_identifier)

    async def stop(self) -> None:
        await self.batcher.stop()
        if self.pair_batcher is not None:
            await self.pair_batcher.stop()
        if self.model_process is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.model_process.stop)
        if self.writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.writer.stop)
        if self.store is not None:
            self.store.close()

    # ------------------------------------------------------------------ models
    @property
    def labels(self) -> list[str]:
        """Labels an attribute can name: the context-free ones and the context models' ones."""
        return list(dict.fromkeys([*self.scorer.labels, *self.scorer.context_labels]))

    def thresholds(self) -> dict[str, float]:
        """The decision threshold of each label, from the model that gives it (worked out
        once: the models do not change while the server runs)."""
        if self._thresholds is None:
            self._thresholds = {}
            for clf in self.classifiers:
                for label in clf.labels:
                    self._thresholds.setdefault(label, float(clf.thresholds.get(label, DEFAULT_THRESHOLD)))
        return self._thresholds

    def context_thresholds(self) -> dict[str, float]:
        """The thresholds of the context models' labels (for their ``context_scores``)."""
        out: dict[str, float] = {}
        for clf in self.scorer.context_models:
            for label in clf.labels:
                out.setdefault(label, float(clf.thresholds.get(label, DEFAULT_THRESHOLD)))
        return out

    async def score_pairs(self, pairs: list[tuple[str, str]]) -> list[Scored] | None:
        """The context models' scores of (parent, text) pairs; None without a context model."""
        if self.pair_batcher is None:
            return None
        return await self.pair_batcher.score(pairs)

    def models(self) -> list[dict[str, Any]]:
        return [
            {
                "name": clf.name,
                "task": clf.task,
                "fingerprint": clf.fingerprint,
                "version": clf.version,
                "precision": clf.precision,
                "labels": clf.labels,
                "thresholds": {k: float(v) for k, v in clf.thresholds.items()},
                "max_length": clf.max_length,
            }
            for clf in self.classifiers
        ]

    async def score(self, texts: list[str]) -> list[Scored]:
        return await self.batcher.score(texts)

    async def score_in_context(self, parent: str, text: str) -> Scored | None:
        """The context models' scores of ``text`` read under ``parent``; None without one."""
        if self.pair_batcher is None:
            return None
        (result,) = await self.pair_batcher.score([(parent, text)])
        return result

    # ------------------------------------------------------------------ store
    async def save(self, comments: list[ApiComment], verdicts: list[VerdictIn] | None = None) -> bool:
        """Store a call's comments (and verdicts) and wait for the commit; False without a store."""
        if self.writer is None:
            return False
        await asyncio.wrap_future(self.writer.submit(comments, verdicts))
        return True

    # ------------------------------------------------------------------ languages
    def _load_identifier(self) -> None:
        try:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier
        except ImportError:  # the [serve] extra brings it; without it we say nothing
            return
        ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        ident.set_languages(DETECTABLE)
        self._identifier = ident

    def detect(self, text: str) -> list[str]:
        """The language codes the detector sees in ``text`` (most likely first), or none."""
        if self._identifier is None or not text.strip():
            return []
        lang, _prob = self._identifier.classify(text)
        return [str(lang)]
