"""Settings for ``analyzer train``, kept apart from the trainer (after SetFit's TrainingArguments)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Task = Literal["toxicity", "sentiment", "multi"]
Method = Literal["finetune", "head"]


@dataclass
class TrainingArguments:
    """Everything that decides a training run; saved into the model's card and config."""

    task: Task = "toxicity"
    method: Method = "finetune"
    epochs: float = 1.0
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int = 96
    seed: int = 13
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    val_fraction: float = 0.1  # used only when no --val-data is given
    eval_every: int = 400  # optimizer steps between validations/checkpoints (finetune)
    patience: int = 3  # validations without improvement before stopping early
    max_steps: int | None = None  # cap on optimizer steps (tests, smoke runs)
    max_train_rows: int | None = None  # cap on training rows after deduplication
    num_threads: int | None = None  # torch CPU threads; None = torch's default
    device: str | None = None  # "cpu", "cuda"; None = CUDA when present
    save_fp16: bool = True  # halve the shipped weights; scores move < 1e-3
    checkpoint_dir: str | None = None  # resumable state lives here (git-ignored)
    labels: list[str] = field(default_factory=list)  # canonical labels; empty = from data
    context: str | None = None  # "parent": train on (parent, text) pairs (the data's `parent` column)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
