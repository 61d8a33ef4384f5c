"""Full fine-tuning: AdamW with a linear warmup over length-sorted batches, a validation every
``eval_every`` steps that stops early after ``patience`` validations without improvement, and
a checkpoint folder (``last.pt`` to resume, ``best.pt`` the best validated weights) so a long
run that dies goes on where it stopped."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.training.arguments import TrainingArguments
from analyzer.training.batching import collate, encode, length_batches, predict, token_lengths
from analyzer.training.data import LabeledData
from analyzer.training.heads import Slices, group_loss
from analyzer.training.validation import validate, validation_score


def total_steps(args: TrainingArguments, rows: int) -> int:
    """Optimizer steps of the run: ``epochs`` over ``rows``, capped by ``max_steps``."""
    steps_per_epoch = math.ceil(rows / args.batch_size)
    total = max(1, math.ceil(steps_per_epoch * args.epochs))
    if args.max_steps:
        total = min(total, args.max_steps)
    return total


def _optimizer(model, args: TrainingArguments, total: int) -> tuple[Any, Any]:
    """AdamW (no weight decay on biases and LayerNorm weights) and its linear warmup schedule."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
            "weight_decay": args.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr)
    return optimizer, get_linear_schedule_with_warmup(optimizer, int(total * args.warmup_ratio), total)


class FineTuner:
    """One fine-tuning run of ``model`` on ``train``, watched on ``val``. ``run`` trains and
    leaves the best validated weights in the model; the run's state (step, best score,
    validations without improvement, history) is what a checkpoint saves and resumes."""

    def __init__(
        self,
        args: TrainingArguments,
        model,
        tokenizer,
        device,
        train: LabeledData,
        val: LabeledData,
        *,
        slices: Slices | None,
        log: Callable[[str], None],
        progress: bool,
    ) -> None:
        import torch

        self.args, self.model, self.tokenizer, self.device = args, model, tokenizer, device
        self.train_data, self.val_data, self.slices = train, val, slices
        self.log, self.progress = log, progress
        self.ids = encode(tokenizer, train, args)
        self.val_ids = encode(tokenizer, val, args)
        self.y = torch.tensor(train.y, dtype=torch.float32 if train.multi_label else torch.long)
        self.total = total_steps(args, len(self.ids))
        self.optimizer, self.scheduler = _optimizer(model, args, self.total)
        self.ckpt_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else None
        self.step, self.best, self.bad_evals = 0, -1.0, 0
        self.history: list[dict[str, Any]] = []
        self._best_state: dict[str, Any] | None = None  # the best weights in memory (no checkpoint folder)

    def run(self) -> list[dict[str, Any]]:
        """Train to ``total`` steps or an early stop; the validation history."""
        from tqdm.auto import tqdm

        a = self.args
        self._resume()
        if self.ckpt_dir:
            self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(a.seed)
        lengths = token_lengths(self.ids)
        epoch_batches: list[np.ndarray] = []
        self.model.train()
        bar = tqdm(
            total=self.total,
            initial=self.step,
            desc="training",
            unit="step",
            disable=not self.progress,
            file=sys.stderr,
        )
        stopped = False
        done = 0
        while done < self.total and not stopped:
            if not epoch_batches:
                epoch_batches = length_batches(lengths, a.batch_size, rng)
            batch = epoch_batches.pop(0)
            done += 1
            if done <= self.step:  # resuming: replay the batch order without training
                continue
            loss = self._train_step(batch)
            self.step = done
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
            if self.step % a.eval_every == 0 or self.step == self.total:
                stopped = self._validate()
                if stopped:
                    self.log(f"early stop at step {self.step}: no improvement in {a.patience} validations")
        bar.close()
        self._restore_best()
        return self.history

    def _train_step(self, batch: np.ndarray) -> float:
        """One optimizer step on ``batch``; its loss."""
        import torch

        logits = self.model(**collate(self.tokenizer, self.ids, batch, self.device)).logits
        target = self.y[batch].to(self.device)
        if self.slices:
            loss = group_loss(logits, target, self.slices)
        elif self.train_data.multi_label:
            known = ~torch.isnan(target)
            losses = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, torch.nan_to_num(target), reduction="none"
            )
            loss = (losses * known).sum() / known.sum().clamp(min=1)
        else:
            loss = torch.nn.functional.cross_entropy(logits, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.item())

    def _validate(self) -> bool:
        """Score the validation set, keep the weights if they are the best yet, save the
        checkpoint; True when ``patience`` validations in a row brought no improvement."""
        multi_label = self.train_data.multi_label
        probs = predict(
            self.model, self.val_ids, self.tokenizer, self.device, slices=self.slices, multi_label=multi_label
        )
        metrics, _ = validate(self.val_data, probs, self.slices)
        score = validation_score(metrics, self.slices, multi_label)
        self.history.append({"step": self.step, "val": round(score, 4)})
        if score > self.best + 1e-4:
            self.best, self.bad_evals = score, 0
            self._keep_best()
        else:
            self.bad_evals += 1
        self.log(f"step {self.step}/{self.total}: validation {score:.4f} (best {self.best:.4f})")
        if self.ckpt_dir:
            self._save_last(self.ckpt_dir)
        self.model.train()
        return self.bad_evals >= self.args.patience

    # ----------------------------------------------------------------- checkpoints
    def _resume(self) -> None:
        """Go on from ``last.pt`` when it was made with the same arguments."""
        import torch

        if not (self.ckpt_dir and (self.ckpt_dir / "last.pt").exists()):
            return
        state = torch.load(self.ckpt_dir / "last.pt", map_location="cpu", weights_only=False)
        if state.get("args") != self.args.to_dict():
            self.log(f"ignoring checkpoint in {self.ckpt_dir}: it was made with other settings")
            return
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.best, self.bad_evals = state["step"], state["best"], state["bad_evals"]
        self.history = state["history"]
        self.log(f"resuming from {self.ckpt_dir / 'last.pt'} at step {self.step}/{self.total}")

    def _keep_best(self) -> None:
        """The current weights as the best: ``best.pt``, or a copy in memory without a folder."""
        import torch

        if self.ckpt_dir:
            torch.save(self.model.state_dict(), self.ckpt_dir / "best.pt")
        else:
            self._best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _save_last(self, ckpt_dir: Path) -> None:
        """Everything to resume from, written to a temporary file first so a crash mid-write
        leaves the previous ``last.pt`` whole."""
        import torch

        torch.save(
            {
                "args": self.args.to_dict(),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "step": self.step,
                "best": self.best,
                "bad_evals": self.bad_evals,
                "history": self.history,
            },
            ckpt_dir / "last.tmp",
        )
        os.replace(ckpt_dir / "last.tmp", ckpt_dir / "last.pt")

    def _restore_best(self) -> None:
        """Load the best validated weights back into the model."""
        import torch

        if self.ckpt_dir and (self.ckpt_dir / "best.pt").exists():
            self.model.load_state_dict(torch.load(self.ckpt_dir / "best.pt", map_location="cpu"))
        elif self._best_state is not None:
            self.model.load_state_dict(self._best_state)
