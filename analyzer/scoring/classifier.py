"""A local Hugging Face sequence classifier behind one small, predictable interface.

``Classifier(model, tokenizer, labels, config)`` only stores ready parts;
``Classifier.from_pretrained(path)`` does the I/O (offline unless asked): it loads a model
folder, maps its labels onto the canonical vocabulary (``analyzer.scoring.labels``), reads
its ``analyzer.json`` (``analyzer.scoring.config.ModelConfig``) and fingerprints the files
(``analyzer.scoring.loading``); ``save_pretrained(path)`` writes the same folder back.

One folder may hold several label groups over one encoder (toxicity sigmoids beside a
sentiment softmax): each group gets its own activation, and all labels come out of one
forward pass. Texts longer than the model's maximum length are never cut silently: they
are split into overlapping token windows whose scores are combined (max for toxicity
attributes, length-weighted mean for sentiment) and reported as ``windowed``
(``analyzer.scoring.windows``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.errors import ModelError
from analyzer.scoring import windows as windowing
from analyzer.scoring.config import CONFIG_NAME, ModelConfig
from analyzer.scoring.folders import resolve_folder, state_fingerprint
from analyzer.scoring.labels import DEFAULT_THRESHOLD
from analyzer.scoring.loading import ClassifierConfig, read_folder_config
from analyzer.scoring.normalize import NORMALIZERS
from analyzer.scoring.passes import plan_passes
from analyzer.scoring.precision import PRECISIONS, check_keep_float, int8_available, place, quantize_int8
from analyzer.text import without_lone_surrogates

if TYPE_CHECKING:  # torch and transformers load only when a model does
    import torch

__all__ = ["PRECISIONS", "Classifier", "ClassifierConfig", "int8_available", "quantize_int8"]

_PAD_LOCK = threading.Lock()  # padding is quick; a tokenizer is not known to be thread-safe


class Classifier:
    """One model: ``predict`` texts to canonical label probabilities (``scoring.explain``
    says which words drove a score).

    ``labels`` gives the canonical label of each model output, in output order, with
    None for outputs that are not reported (the complement class of a binary model).
    """

    def __init__(self, model: Any, tokenizer: Any, labels: Sequence[str | None], config: ClassifierConfig) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.output_labels = list(labels)
        self.config = config
        self._specials: tuple[list[int], list[int]] | None = None
        self._pair_template: Any = None  # analyzer.scoring.pairs.PairTemplate, found on first use
        self._slices: list[tuple[str, list[int]]] | None = None

    # ------------------------------------------------------------------ attributes
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def task(self) -> str:
        return self.config.task

    @property
    def multi_label(self) -> bool:
        """Whether any output is an independent (sigmoid) attribute with a threshold."""
        return any(activation == "sigmoid" for activation, _ in self.slices())

    @property
    def max_length(self) -> int:
        return self.config.max_length

    @property
    def card(self) -> str | None:
        return self.config.card

    @property
    def context(self) -> str | None:
        return self.config.context

    @property
    def labels(self) -> list[str]:
        """The canonical labels this model provides (and only those)."""
        return [label for label in self.output_labels if label is not None]

    @property
    def threshold_labels(self) -> list[str]:
        """Labels decided by a threshold (sigmoid outputs); softmax classes are decided by the argmax."""
        return [
            label
            for activation, cols in self.slices()
            if activation == "sigmoid"
            for j in cols
            if (label := self.output_labels[j]) is not None
        ]

    @property
    def thresholds(self) -> dict[str, float]:
        return {label: float(self.config.thresholds.get(label, DEFAULT_THRESHOLD)) for label in self.labels}

    @property
    def fingerprint(self) -> str:
        """Short hash of the files (or, for a model built in memory, the weights)."""
        if self.config.fingerprint is None:
            self.config.fingerprint = state_fingerprint(self.model)
        return self.config.fingerprint

    @property
    def precision(self) -> str:
        """ "float32", "bfloat16" or "int8": how the weights run."""
        if getattr(self.model, "analyzer_precision", None) == "int8":
            return "int8"
        return str(next(self.model.parameters()).dtype).removeprefix("torch.")

    @property
    def cache_key(self) -> str:
        """What cached scores are keyed by: the fingerprint, plus the precision when it is
        not float32 (bfloat16 scores differ in the third decimal)."""
        return self.fingerprint if self.precision == "float32" else f"{self.fingerprint}:{self.precision}"

    @property
    def version(self) -> str:
        """``name@fingerprint``: what every score records as its source."""
        return f"{self.name}@{self.fingerprint}"

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device: str | torch.device) -> Classifier:
        self.model.to(device)
        return self

    def __repr__(self) -> str:
        return f"Classifier({self.version!r}, task={self.task!r}, labels={self.labels})"

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        allow_network: bool = False,
        device: str | torch.device | None = None,
        precision: str = "float32",
    ) -> Classifier:
        """Load a Hugging Face-format classifier folder, offline unless ``allow_network``
        (which also lets ``path`` be a hub id). Any problem is a ModelError that says why.

        ``precision``: "float32" (exact, the default), "bfloat16" (GPUs, and CPUs with
        bfloat16 instructions: 1.7x float32 on an AVX512-BF16 EPYC; scores move by ~1e-3),
        "int8" (CPU only: the encoder's linear layers quantized to int8, activations
        quantized on the fly; 2.1-2.3x float32 here) or "auto": the fastest measured to keep
        validation ROC-AUC and macro-F1 within 0.005 of float32 (docs/scaling.md)."""
        folder = resolve_folder(path, allow_network)
        meta = ModelConfig.load(folder)

        import torch
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        try:
            hf_config = AutoConfig.from_pretrained(folder, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            # float32 whatever the stored dtype: fp16 on a CPU is slow and imprecise
            model = AutoModelForSequenceClassification.from_pretrained(
                folder, local_files_only=True, dtype=torch.float32
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"cannot load the classifier in {folder}: {exc}") from exc
        labels, config = read_folder_config(folder, meta, hf_config, tokenizer, model.config.num_labels)
        check_keep_float(model, meta.int8_keep_float, str(Path(folder) / CONFIG_NAME))
        return cls(place(model, device, precision, meta.int8_keep_float), tokenizer, labels, config)

    def save_pretrained(self, path: str | Path) -> Path:
        """Write the folder ``from_pretrained`` reads: weights (safetensors), tokenizer and
        ``analyzer.json``. An int8 model is a runtime form and cannot be saved."""
        if self.precision == "int8":
            raise ModelError("an int8-quantized classifier cannot be saved; load it in float32 to save it")
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(out), safe_serialization=True)
        self.tokenizer.save_pretrained(str(out))
        meta = self.config.model_config or ModelConfig()
        meta.name = meta.name or self.name
        meta.task = self.task
        meta.max_length = self.max_length
        meta.thresholds = {**meta.thresholds, **self.config.thresholds}
        meta.groups = self.config.groups or meta.groups
        meta.context = self.config.context
        meta.parent_weight = self.config.parent_weight
        meta.normalizer = self.config.normalizer
        meta.save(out)
        return out

    # ------------------------------------------------------------------ scoring
    def normalize(self, text: str) -> str:
        """The text the model reads: the folder's normalizer (same length), if any."""
        fn = NORMALIZERS.get(self.config.normalizer or "")
        return fn(text) if fn is not None else text

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text without special tokens and without truncation:
        the one tokenization pass that windowing and batching work from."""
        if not texts:
            return []
        texts = [self.normalize(without_lone_surrogates(t)) for t in texts]  # tokenizers refuse half characters
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)
        return [list(ids) for ids in enc["input_ids"]]

    def windows(self, ids: Sequence[int]) -> list[list[int]]:
        """Overlapping windows of content ids, each fitting ``max_length`` once special
        tokens are added; a single window when the text fits."""
        return [list(ids[start:end]) for start, end in self.window_spans(len(ids))]

    def window_spans(self, n_tokens: int, reserved: int = 0) -> list[tuple[int, int]]:
        """(start, end) token offsets of each window, overlapping by a quarter of a window
        (``scoring.windows``); ``reserved`` tokens of every window go to something else (a
        parent's text in a pair)."""
        prefix, suffix = self.special_tokens()
        return windowing.window_spans(n_tokens, max(1, self.max_length - len(prefix) - len(suffix) - reserved))

    def score(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        sort_by_length: bool = True,
        workers: int = 1,
        cut_by_cost: bool = False,
    ) -> list[tuple[dict[str, float], bool]]:
        """(scores, windowed) per text. Windows of all texts are batched together,
        sorted by length and padded only to the longest in their batch (``workers``: see
        ``score_pieces``)."""
        prefix, suffix = self.special_tokens()
        pieces: list[tuple[int, list[int], int]] = []  # (text index, full window ids, content tokens)
        for i, ids in enumerate(self.encode(texts)):
            pieces.extend((i, prefix + w + suffix, len(w)) for w in self.windows(ids))
        return self.score_pieces(
            pieces,
            len(texts),
            batch_size=batch_size,
            sort_by_length=sort_by_length,
            workers=workers,
            cut_by_cost=cut_by_cost,
        )

    def score_pairs(
        self,
        pairs: Sequence[tuple[str | None, str]],
        *,
        batch_size: int = 32,
        sort_by_length: bool = True,
        workers: int = 1,
        cut_by_cost: bool = False,
    ) -> list[tuple[dict[str, float], bool]]:
        """(scores, windowed) per (parent, reply) pair, for a model that reads context
        (``context: "parent"``): the parent is cut first, the reply never (``scoring.pairs``).
        With a ``parent_weight``, each distinct parent is also read alone and its logit added
        to the pair's (``pairs.weigh_parents``)."""
        from analyzer.scoring.pairs import pair_pieces, pair_template, weigh_parents

        if self._pair_template is None:
            self._pair_template = pair_template(self.tokenizer)
        template = self._pair_template

        def read(todo: Sequence[tuple[str | None, str]]) -> list[tuple[dict[str, float], bool]]:
            parents, replies = self.encode([p or "" for p, _ in todo]), self.encode([r for _, r in todo])
            pieces, types = pair_pieces(template, parents, replies, self.max_length)
            return self.score_pieces(
                pieces,
                len(todo),
                batch_size=batch_size,
                sort_by_length=sort_by_length,
                token_types=types,
                workers=workers,
                cut_by_cost=cut_by_cost,
            )

        return weigh_parents(read, pairs, self.config.parent_weight or 0.0)

    def score_pieces(
        self,
        pieces: Sequence[tuple[int, Sequence[int], int]],
        n_texts: int,
        *,
        batch_size: int = 32,
        sort_by_length: bool = True,
        token_types: Sequence[Sequence[int]] | None = None,
        workers: int = 1,
        cut_by_cost: bool = False,
    ) -> list[tuple[dict[str, float], bool]]:
        """Score ready model inputs (text index, full ids, content tokens: the window's weight
        in a length-weighted mean) and combine the windows of each text.

        ``workers`` > 1 on a CPU runs the batches that many at a time, each forward pass on
        its share of torch's threads: a small encoder keeps one core busier than two cores
        share one pass (on 2 cores one model scores about 1.4x faster this way). The
        batches are the same either way, so the scores are identical.

        ``cut_by_cost`` (with ``sort_by_length``) cuts the sorted inputs into passes of at
        most ``batch_size`` where padding costs least (``scoring.passes``) instead of every
        ``batch_size``: for inputs of mixed lengths in small numbers, as a service's
        micro-batch holds."""
        chunks = plan_passes([len(ids) for _, ids, _ in pieces], batch_size, sort_by_length, cut_by_cost)
        probs: list[list[float]] = [[] for _ in pieces]

        def run(chunk: list[int]) -> list[list[float]]:
            types = [token_types[k] for k in chunk] if token_types is not None else None
            return self.forward_full([pieces[k][1] for k in chunk], types)

        for chunk, rows in zip(chunks, self._map_batches(run, chunks, workers)):
            for k, row in zip(chunk, rows):
                probs[k] = row
        per_text: list[list[tuple[list[float], int]]] = [[] for _ in range(n_texts)]
        for (i, _, weight), row in zip(pieces, probs):
            per_text[i].append((row, max(1, weight)))
        return [(windowing.combine_windows(self.output_labels, rows), len(rows) > 1) for rows in per_text]

    def _map_batches(self, run: Any, chunks: list[list[int]], workers: int) -> Iterable[list[list[float]]]:
        """``run`` over the batches in order: in this thread, or ``workers`` at a time."""
        if workers < 2 or len(chunks) < 2 or self.device.type != "cpu":
            return map(run, chunks)
        from concurrent.futures import ThreadPoolExecutor

        import torch

        threads = torch.get_num_threads()
        workers = min(workers, threads, len(chunks))
        if workers < 2:
            return map(run, chunks)
        torch.set_num_threads(max(1, threads // workers))
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="analyzer-batch") as pool:
                return list(pool.map(run, chunks))
        finally:
            torch.set_num_threads(threads)

    def predict(self, texts: Iterable[str], *, batch_size: int = 32) -> list[dict[str, float]]:
        """Canonical label -> probability for each text (long texts windowed)."""
        return [scores for scores, _ in self.score(list(texts), batch_size=batch_size)]

    def forward(self, batch: Sequence[Sequence[int]]) -> list[list[float]]:
        """Probabilities of every model output for windows of content token ids."""
        prefix, suffix = self.special_tokens()
        return self.forward_full([prefix + list(w) + suffix for w in batch])

    def forward_full(
        self, rows: Sequence[Sequence[int]], token_types: Sequence[Sequence[int]] | None = None
    ) -> list[list[float]]:
        """Probabilities of every output for full model inputs (special tokens included)."""
        import torch

        if not rows:
            return []
        features: dict[str, Any] = {"input_ids": [list(r) for r in rows]}
        if token_types is not None:
            features["token_type_ids"] = [list(t) for t in token_types]
        with _PAD_LOCK:  # a tokenizer used by batches on several threads (score_pieces' workers)
            batch = self.tokenizer.pad(features, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in batch.items()}
        if len({len(r) for r in rows}) == 1:  # no padding: leaving the mask out skips building it
            inputs.pop("attention_mask", None)
        with torch.inference_mode():
            logits = self.model(**inputs).logits.float()
            probs = self.activate(logits)
        return probs.cpu().tolist()

    def slices(self) -> list[tuple[str, list[int]]]:
        """(activation, output columns) per label group; one group when the folder declares none."""
        if self._slices is None:
            raw = (self.config.model_config.labels if self.config.model_config else []) or []
            if self.config.groups and len(raw) == len(self.output_labels):
                self._slices = [(g.activation, [raw.index(lab) for lab in g.labels]) for g in self.config.groups]
            else:
                kind = "sigmoid" if self.config.multi_label else "softmax"
                self._slices = [(kind, list(range(len(self.output_labels))))]
        return self._slices

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """Probabilities from logits: each group's own activation."""
        return activate_groups(logits, self.slices())

    def special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a single text ([CLS] ... [SEP]
        for BERT, <s> ... </s> for RoBERTa), found by encoding a probe once."""
        if self._specials is None:
            self._specials = windowing.special_tokens(self.tokenizer)
        return self._specials


def activate_groups(logits: torch.Tensor, slices: Sequence[tuple[str, list[int]]]) -> torch.Tensor:
    """Probabilities from logits, each (activation, columns) group with its own activation:
    what scoring and training both apply."""
    import torch

    if len(slices) == 1:
        kind = slices[0][0]
        return torch.sigmoid(logits) if kind == "sigmoid" else torch.softmax(logits, dim=-1)
    out = torch.empty_like(logits)
    for kind, cols in slices:
        part = logits[:, cols]
        out[:, cols] = torch.sigmoid(part) if kind == "sigmoid" else torch.softmax(part, dim=-1)
    return out
