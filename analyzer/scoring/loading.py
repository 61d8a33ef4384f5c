"""What a classifier folder says about its model, besides the weights: the canonical label
of each output and a ``ClassifierConfig`` (task, activation, maximum length, thresholds,
fingerprint, card), read from the Hugging Face config, the tokenizer and ``analyzer.json``.

Kept apart from ``Classifier`` so the rules that turn a folder into a configuration (and
the errors that say what is wrong with one) read in one place, without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.errors import ModelError
from analyzer.scoring.config import LabelGroup, ModelConfig
from analyzer.scoring.folders import fingerprint_dir
from analyzer.scoring.labels import TOXICITY_LABELS, canonical_label, task_of

# Model types whose position ids start after the padding index, so two positions
# of max_position_embeddings are never usable.
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "longformer", "mpnet", "data2vec-text", "xmod"}


@dataclass
class ClassifierConfig:
    """What a Classifier knows besides its weights; mostly read from ``analyzer.json``."""

    name: str
    task: str  # "toxicity" | "sentiment" | "multi"
    multi_label: bool  # without groups: sigmoid (True) or softmax (False) over all outputs
    max_length: int
    thresholds: dict[str, float] = field(default_factory=dict)
    fingerprint: str | None = None  # None: computed from the weights in memory
    card: str | None = None
    default: bool = False
    source: str | None = None
    groups: list[LabelGroup] = field(default_factory=list)  # over raw output names
    context: str | None = None  # "parent": reads (parent, reply) pairs
    parent_weight: float | None = None  # pairs: logit(pair) + parent_weight * logit(parent read alone)
    normalizer: str | None = None
    model_config: ModelConfig | None = None  # the analyzer.json it came from


def read_folder_config(
    folder: Path, meta: ModelConfig, hf_config: Any, tokenizer: Any, num_labels: int
) -> tuple[list[str | None], ClassifierConfig]:
    """(canonical label of each output, None where not reported; the configuration) of a
    loaded folder. Any inconsistency between its files is a ModelError naming the file."""
    raw = _raw_labels(folder, hf_config, num_labels)
    labels = _canonical_labels(folder, raw, meta)
    return labels, _classifier_config(folder, meta, hf_config, tokenizer, raw, labels)


def _raw_labels(folder: Path, hf_config: Any, num_labels: int) -> list[str]:
    id2label = {int(k): str(v) for k, v in (hf_config.id2label or {}).items()}
    if sorted(id2label) != list(range(num_labels)):
        raise ModelError(f"{folder / 'config.json'}: id2label does not name all {num_labels} outputs")
    return [id2label[i] for i in range(num_labels)]


def _canonical_labels(folder: Path, raw: list[str], meta: ModelConfig) -> list[str | None]:
    try:
        labels = [canonical_label(name, meta.label_aliases or {}) for name in raw]
    except ModelError as exc:
        raise ModelError(f"{folder}: {exc}") from None
    mapped = [label for label in labels if label is not None]
    if not mapped:
        raise ModelError(f"{folder}: none of the model's labels {raw} can be reported")
    if len(set(mapped)) != len(mapped):
        raise ModelError(f"{folder}: two outputs map to the same label: {mapped}")
    for group in meta.groups:
        unknown = [lab for lab in group.labels if lab not in raw]
        if unknown:
            raise ModelError(
                f"{folder / 'analyzer.json'}: group {group.name!r} names outputs the model lacks: {unknown}"
            )
    return labels


def _classifier_config(
    folder: Path, meta: ModelConfig, hf_config: Any, tokenizer: Any, raw: list[str], labels: list[str | None]
) -> ClassifierConfig:
    mapped = [label for label in labels if label is not None]
    if meta.task:
        task = meta.task
    elif meta.groups:
        task = "multi"
    else:
        task = "toxicity" if any(task_of(lbl) == "toxicity" for lbl in mapped) else "sentiment"
    card_path = folder / "README.md"
    if meta.groups:  # the config's label list names the raw outputs the groups refer to
        meta.labels = raw
    aliases = meta.label_aliases or {}
    return ClassifierConfig(
        name=str(meta.name or folder.name),
        task=task,
        multi_label=_is_multi_label(hf_config.problem_type, meta.task, labels),
        max_length=_max_length(hf_config, tokenizer, meta.max_length),
        thresholds={canonical_label(k, aliases) or k: float(v) for k, v in meta.thresholds.items()},
        fingerprint=fingerprint_dir(folder, meta),
        card=card_path.read_text(encoding="utf-8", errors="replace") if card_path.is_file() else None,
        default=meta.default,
        source=str(folder),
        groups=list(meta.groups),
        context=meta.context,
        parent_weight=meta.parent_weight,
        normalizer=meta.normalizer,
        model_config=meta,
    )


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


def _max_length(hf_config: Any, tokenizer: Any, declared: int | None) -> int:
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
