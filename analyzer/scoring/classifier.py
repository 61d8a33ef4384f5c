"""A local Hugging Face sequence classifier behind one small, predictable interface.

``Classifier(model, tokenizer, labels, config)`` only stores ready parts;
``Classifier.from_pretrained(path)`` does the I/O: it loads a model folder offline,
maps its labels onto the canonical vocabulary (``analyzer.scoring.labels``), reads the
``analyzer.json`` beside the weights and fingerprints the files, so every score can
say exactly which model produced it.

Texts longer than the model's maximum length are never cut silently: they are split
into overlapping token windows whose scores are combined (max for toxicity attributes,
length-weighted mean for sentiment) and reported as ``windowed``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.errors import ModelError
from analyzer.scoring.labels import DEFAULT_THRESHOLD, TOXICITY_LABELS, canonical_label, task_of
from analyzer.text import without_lone_surrogates

if TYPE_CHECKING:  # torch and transformers load only when a model does
    import torch

# Files whose bytes decide what a model outputs, hashed into its fingerprint.
_WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model*.bin")
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spm.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
)
# Model types whose position ids start after the padding index, so two positions
# of max_position_embeddings are never usable.
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "longformer", "mpnet", "data2vec-text", "xmod"}
_HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors", "README.md"]
# What ``precision=`` accepts (see ``Classifier.from_pretrained``).
PRECISIONS = ("float32", "bfloat16", "int8", "auto")


@dataclass
class ClassifierConfig:
    """What a Classifier knows besides its weights; mostly read from ``analyzer.json``."""

    name: str
    task: str  # "toxicity" | "sentiment"
    multi_label: bool
    max_length: int
    thresholds: dict[str, float] = field(default_factory=dict)
    fingerprint: str | None = None  # None: computed from the weights in memory
    card: str | None = None
    default: bool = False
    source: str | None = None


class Classifier:
    """One model: ``predict`` texts to canonical label probabilities, ``explain`` one text.

    ``labels`` gives the canonical label of each model output, in output order, with
    None for outputs that are not reported (the complement class of a binary model).
    """

    def __init__(self, model: Any, tokenizer: Any, labels: Sequence[str | None], config: ClassifierConfig) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.output_labels = list(labels)
        self.config = config
        self._specials: tuple[list[int], list[int]] | None = None

    # ------------------------------------------------------------------ attributes
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def task(self) -> str:
        return self.config.task

    @property
    def multi_label(self) -> bool:
        return self.config.multi_label

    @property
    def max_length(self) -> int:
        return self.config.max_length

    @property
    def card(self) -> str | None:
        return self.config.card

    @property
    def labels(self) -> list[str]:
        """The canonical labels this model provides (and only those)."""
        return [label for label in self.output_labels if label is not None]

    @property
    def thresholds(self) -> dict[str, float]:
        return {label: float(self.config.thresholds.get(label, DEFAULT_THRESHOLD)) for label in self.labels}

    @property
    def fingerprint(self) -> str:
        """Short hash of the files (or, for a model built in memory, the weights)."""
        if self.config.fingerprint is None:
            self.config.fingerprint = _state_fingerprint(self.model)
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

    # ------------------------------------------------------------------ loading
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
        bfloat16 instructions: 1.7x float32 on this AVX512-BF16 EPYC; scores move by ~1e-3),
        "int8" (CPU only: the encoder's linear layers quantized to int8, activations
        quantized on the fly; 2.1-2.3x float32 here) or
        "auto": the fastest measured to keep validation ROC-AUC and macro-F1 within 0.005
        of float32 (docs/scaling.md): int8 on a CPU, bfloat16 on a GPU that has it."""
        folder = _resolve_folder(path, allow_network)
        meta = _read_meta(folder)

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

        aliases = meta.get("label_aliases") or {}
        if not isinstance(aliases, dict):
            raise ModelError(f"{folder / 'analyzer.json'}: label_aliases must be an object")
        id2label = {int(k): str(v) for k, v in (hf_config.id2label or {}).items()}
        num_labels = model.config.num_labels
        if sorted(id2label) != list(range(num_labels)):
            raise ModelError(f"{folder / 'config.json'}: id2label does not name all {num_labels} outputs")
        try:
            labels = [canonical_label(id2label[i], aliases) for i in range(num_labels)]
        except ModelError as exc:
            raise ModelError(f"{folder}: {exc}") from None
        mapped = [label for label in labels if label is not None]
        if not mapped:
            raise ModelError(f"{folder}: none of the model's labels {list(id2label.values())} can be reported")
        if len(set(mapped)) != len(mapped):
            raise ModelError(f"{folder}: two outputs map to the same label: {mapped}")

        task = meta.get("task") or ("toxicity" if any(task_of(lbl) == "toxicity" for lbl in mapped) else "sentiment")
        if task not in ("toxicity", "sentiment"):
            raise ModelError(f"{folder / 'analyzer.json'}: task must be 'toxicity' or 'sentiment', not {task!r}")
        multi_label = _is_multi_label(hf_config.problem_type, meta.get("task"), labels)
        max_length = _max_length(hf_config, tokenizer, meta.get("max_length"))
        card_path = folder / "README.md"
        config = ClassifierConfig(
            name=str(meta.get("name") or folder.name),
            task=task,
            multi_label=multi_label,
            max_length=max_length,
            thresholds={canonical_label(k, aliases) or k: float(v) for k, v in (meta.get("thresholds") or {}).items()},
            fingerprint=fingerprint_dir(folder, meta),
            card=card_path.read_text(encoding="utf-8", errors="replace") if card_path.is_file() else None,
            default=bool(meta.get("default", False)),
            source=str(folder),
        )
        try:
            target = torch.device(device) if device is not None else _auto_device()
            if precision == "int8" or (precision == "auto" and target.type == "cpu" and int8_available()):
                model = quantize_int8(model, target)
            else:
                model.to(target, dtype=_resolve_precision(precision, target))
        except (RuntimeError, AssertionError) as exc:  # "gpu", or CUDA asked for on a CPU-only build
            raise ModelError(f"cannot use device {device!r}: {exc}") from exc
        model.eval()
        return cls(model, tokenizer, labels, config)

    # ------------------------------------------------------------------ scoring
    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text without special tokens and without truncation:
        the one tokenization pass that windowing and batching work from."""
        if not texts:
            return []
        texts = [without_lone_surrogates(t) for t in texts]  # the tokenizers refuse half characters
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)
        return [list(ids) for ids in enc["input_ids"]]

    def windows(self, ids: Sequence[int]) -> list[list[int]]:
        """Overlapping windows of content ids, each fitting ``max_length`` once special
        tokens are added; a single window when the text fits."""
        return [list(ids[start:end]) for start, end in self.window_spans(len(ids))]

    def window_spans(self, n_tokens: int) -> list[tuple[int, int]]:
        """(start, end) token offsets of each window; consecutive windows overlap by a
        quarter of a window so no passage is only ever seen cut at an edge."""
        prefix, suffix = self._special_tokens()
        size = max(1, self.max_length - len(prefix) - len(suffix))
        if n_tokens <= size:
            return [(0, n_tokens)]
        step = max(1, size - size // 4)
        spans: list[tuple[int, int]] = []
        start = 0
        while True:
            spans.append((start, min(start + size, n_tokens)))
            if start + size >= n_tokens:
                return spans
            start += step

    def score(
        self, texts: Sequence[str], *, batch_size: int = 32, sort_by_length: bool = True
    ) -> list[tuple[dict[str, float], bool]]:
        """(scores, windowed) per text. Windows of all texts are batched together,
        sorted by length and padded only to the longest in their batch."""
        pieces: list[tuple[int, list[int]]] = []  # (text index, window ids)
        for i, ids in enumerate(self.encode(texts)):
            pieces.extend((i, w) for w in self.windows(ids))
        order = list(range(len(pieces)))
        if sort_by_length:
            order.sort(key=lambda k: len(pieces[k][1]))
        probs: list[list[float]] = [[] for _ in pieces]
        for b in range(0, len(order), max(1, batch_size)):
            chunk = order[b : b + max(1, batch_size)]
            for k, row in zip(chunk, self.forward([pieces[k][1] for k in chunk])):
                probs[k] = row

        per_text: list[list[tuple[list[float], int]]] = [[] for _ in texts]
        for (i, ids), row in zip(pieces, probs):
            per_text[i].append((row, max(1, len(ids))))
        return [(self._combine(rows), len(rows) > 1) for rows in per_text]

    def predict(self, texts: Iterable[str], *, batch_size: int = 32) -> list[dict[str, float]]:
        """Canonical label -> probability for each text (long texts windowed)."""
        return [scores for scores, _ in self.score(list(texts), batch_size=batch_size)]

    def forward(self, batch: Sequence[Sequence[int]]) -> list[list[float]]:
        """Probabilities of every model output for windows of content token ids."""
        import torch

        if not batch:
            return []
        input_ids, attention = self._pad(batch)
        with torch.inference_mode():
            # Without padding the mask is all ones: leaving it out skips building it.
            mask = None if len({len(w) for w in batch}) == 1 else attention
            logits = self.model(input_ids=input_ids, attention_mask=mask).logits.float()
            probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
        return probs.cpu().tolist()

    def _pad(self, batch: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        prefix, suffix = self._special_tokens()
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = getattr(self.model.config, "pad_token_id", None) or 0
        rows = [prefix + list(w) + suffix for w in batch]
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for j, r in enumerate(rows):
            input_ids[j, : len(r)] = torch.tensor(r, dtype=torch.long)
            attention[j, : len(r)] = 1
        device = self.device
        return input_ids.to(device), attention.to(device)

    def _combine(self, rows: list[tuple[list[float], int]]) -> dict[str, float]:
        """Max over windows for toxicity attributes (one toxic passage makes a toxic
        comment); length-weighted mean for sentiment (the overall tone)."""
        total = sum(weight for _, weight in rows)
        out: dict[str, float] = {}
        for j, label in enumerate(self.output_labels):
            if label is None:
                continue
            if label in TOXICITY_LABELS:
                out[label] = float(max(row[j] for row, _ in rows))
            else:
                out[label] = float(sum(row[j] * weight for row, weight in rows) / total)
        return out

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a single text ([CLS] ... [SEP]
        for BERT, <s> ... </s> for RoBERTa), found by encoding a probe once."""
        if self._specials is None:
            probe = self.tokenizer("hello world", add_special_tokens=False)["input_ids"]
            full = self.tokenizer("hello world", add_special_tokens=True)["input_ids"]
            for start in range(len(full) - len(probe) + 1):
                if full[start : start + len(probe)] == probe:
                    self._specials = (list(full[:start]), list(full[start + len(probe) :]))
                    break
            else:
                self._specials = ([], [])
        return self._specials

    # ------------------------------------------------------------------ explaining
    def explain(
        self, text: str, label: str, *, method: str = "integrated_gradients", n_steps: int = 32
    ) -> list[tuple[str, float]]:
        """Per-word contributions to ``label``'s score for ``text``: each whitespace
        word of the text, in order, with its attribution (positive pushes the score up).

        ``method`` is "integrated_gradients" (Captum, on the input embeddings; token
        attributions summed per word) or "occlusion" (the score drop without the word).
        """
        if label not in self.labels:
            raise ModelError(f"model {self.name} has no label {label!r}; it provides {', '.join(self.labels)}")
        text = without_lone_surrogates(text)
        words = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        if not words:
            return []
        if method == "occlusion":
            return self._explain_occlusion(text, words, label)
        if method != "integrated_gradients":
            raise ValueError(f"unknown explanation method {method!r}; use integrated_gradients or occlusion")
        try:
            enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        except (NotImplementedError, ValueError):  # tokenizers without offsets
            return self._explain_occlusion(text, words, label)
        ids, offsets = list(enc["input_ids"]), list(enc["offset_mapping"])
        token_scores = self._token_attributions(ids, self.output_labels.index(label), n_steps)
        starts = [start for _, start, _ in words]
        totals = [0.0] * len(words)
        for (start, end), value in zip(offsets, token_scores):
            if end <= start:
                continue
            w = bisect.bisect_right(starts, start) - 1
            if 0 <= w < len(words):
                totals[w] += value
        return [(word, float(total)) for (word, _, _), total in zip(words, totals)]

    def _token_attributions(self, ids: list[int], target: int, n_steps: int) -> list[float]:
        """Integrated gradients per token, averaged where windows overlap."""
        import torch
        from captum.attr import LayerIntegratedGradients

        prefix, suffix = self._special_tokens()
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        multi = self.multi_label

        def forward(input_ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
            logits = self.model(input_ids=input_ids, attention_mask=attention).logits.float()
            probs = torch.sigmoid(logits) if multi else torch.softmax(logits, dim=-1)
            return probs[:, target]

        lig = LayerIntegratedGradients(forward, self.model.get_input_embeddings())
        sums = [0.0] * len(ids)
        counts = [0] * len(ids)
        device = self.device
        for start, end in self.window_spans(len(ids)):
            window = ids[start:end]
            row = prefix + window + suffix
            base = prefix + [pad] * len(window) + suffix
            inputs = torch.tensor([row], dtype=torch.long, device=device)
            baseline = torch.tensor([base], dtype=torch.long, device=device)
            attention = torch.ones_like(inputs)
            with torch.enable_grad():
                attr = lig.attribute(
                    inputs,
                    baselines=baseline,
                    additional_forward_args=(attention,),
                    n_steps=n_steps,
                    internal_batch_size=n_steps,
                )
            values = attr.sum(dim=-1)[0].detach().cpu().tolist()[len(prefix) : len(prefix) + len(window)]
            for k, value in enumerate(values):
                sums[start + k] += value
                counts[start + k] += 1
        return [s / c if c else 0.0 for s, c in zip(sums, counts)]

    def _explain_occlusion(self, text: str, words: list[tuple[str, int, int]], label: str) -> list[tuple[str, float]]:
        variants = [text] + [text[:start] + text[end:] for _, start, end in words]
        scores = self.predict(variants)
        full = scores[0][label]
        return [(word, float(full - s[label])) for (word, _, _), s in zip(words, scores[1:])]


# ---------------------------------------------------------------------- helpers
def _auto_device() -> torch.device:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """The weights' dtype: bfloat16 where it is asked for, or "auto" on a GPU that has it
    (on a CPU "auto" means int8, see ``from_pretrained``; float32 without a quantized engine)."""
    import torch

    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "auto":
        native = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if native else torch.float32
    raise ModelError(f"unknown precision {precision!r}; use float32, bfloat16, int8 or auto")


def int8_available() -> bool:
    """Whether this torch build has a quantized CPU engine (fbgemm/x86 on x86, qnnpack on ARM)."""
    import torch

    return any(engine != "none" for engine in torch.backends.quantized.supported_engines)


def quantize_int8(model: Any, device: torch.device | None = None) -> Any:
    """Dynamic int8 quantization of the encoder's linear layers (int8 weights with one scale
    per output channel, activations quantized per batch), where CPU inference spends most of
    its time; embeddings, layer norms, attention, pooler and the classification head stay
    float32. Per-channel scales keep validation ROC-AUC and macro-F1 of the default models
    within 0.002 of float32 (one scale per tensor moved them by up to 0.008; docs/scaling.md).
    CPU only (fbgemm on x86, with VNNI where the CPU has it)."""
    import warnings

    import torch

    if device is not None and torch.device(device).type != "cpu":
        raise ModelError(f"int8 precision runs on the CPU only, not on {device}; use bfloat16 on a GPU")
    base = model.base_model
    prefix = f"{model.base_model_prefix}." if base is not model else ""
    names = {
        prefix + name
        for name, module in base.named_modules()
        if isinstance(module, torch.nn.Linear) and "pooler" not in name
    }
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        spec = {name: per_channel_dynamic_qconfig for name in names}
        model = quantize_dynamic(model.to("cpu", torch.float32), spec, dtype=torch.qint8)
    model.analyzer_precision = "int8"
    return model


def _resolve_folder(path: str | Path, allow_network: bool) -> Path:
    """A local model folder; a hub id becomes one only when the user opted in."""
    folder = Path(path).expanduser()
    if not folder.exists():
        if allow_network and re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", str(path)):
            try:
                from huggingface_hub import snapshot_download

                folder = Path(snapshot_download(str(path), allow_patterns=_HUB_PATTERNS))
            except Exception as exc:  # network, auth, unknown repo: all one user error
                raise ModelError(f"cannot download model {path!r}: {exc}") from exc
        else:
            hint = "" if allow_network else " (hub ids need --allow-network)"
            raise ModelError(f"model directory not found: {path}; pass a Hugging Face-format classifier folder{hint}")
    if not folder.is_dir():
        raise ModelError(f"not a model directory: {folder}")
    if not (folder / "config.json").is_file():
        raise ModelError(f"not a Hugging Face model folder (no config.json): {folder}")
    if not _weight_files(folder):
        raise ModelError(f"no weights (model.safetensors or pytorch_model.bin) in {folder}")
    return folder


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "analyzer.json"
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"unreadable analyzer.json: {exc}", source=str(path)) from exc
    if not isinstance(meta, dict):
        raise ModelError("analyzer.json must hold a JSON object", source=str(path))
    return meta


def _weight_files(folder: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in _WEIGHT_PATTERNS:
        found.update(p for p in folder.glob(pattern) if p.is_file())
    return sorted(found)


def _is_multi_label(problem_type: str | None, task: str | None, labels: list[str | None]) -> bool:
    """Independent (sigmoid) or exclusive (softmax) outputs: the config says so when
    it can; then the analyzer.json task; then what the labels themselves imply."""
    if len(labels) == 1:
        return True
    if problem_type == "multi_label_classification":
        return True
    if problem_type == "single_label_classification":
        return False
    if task in ("toxicity", "sentiment"):
        return task == "toxicity"
    if None in labels:  # a complement class: the outputs are exclusive
        return False
    return all(label in TOXICITY_LABELS for label in labels)


def _max_length(hf_config: Any, tokenizer: Any, declared: Any) -> int:
    """The longest input (special tokens included) the model can take, capped by the
    length it was trained at when analyzer.json says so."""
    limits: list[int] = []
    positions = getattr(hf_config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions - 2 if hf_config.model_type in _OFFSET_POSITIONS else positions)
    if declared is not None:
        limits.append(int(declared))
    else:
        tok_limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(tok_limit, int) and 0 < tok_limit < 1_000_000:
            limits.append(tok_limit)
    return min(limits) if limits else 512


def fingerprint_dir(folder: Path, meta: dict[str, Any] | None = None) -> str:
    """sha256 over config, weights and tokenizer files plus the analyzer.json fields
    that change outputs (label aliases, max length): 16 hex characters."""
    digest = hashlib.sha256()
    files = [folder / "config.json", *_weight_files(folder)]
    files += [folder / name for name in _TOKENIZER_FILES if (folder / name).is_file()]
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    meta = meta or {}
    extra = {"label_aliases": meta.get("label_aliases"), "max_length": meta.get("max_length")}
    digest.update(json.dumps(extra, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _state_fingerprint(model: Any) -> str:
    """For a model built in memory: hash of its weights and config."""
    import torch

    digest = hashlib.sha256()
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_json_string"):
        digest.update(config.to_json_string(use_diff=False).encode())
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode() + b"\0")
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]
