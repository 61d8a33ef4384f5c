"""``analyzer train``: fine-tune or fit a head on labeled comments."""

from __future__ import annotations

import shlex
import sys

import click


@click.command()
@click.option(
    "--task",
    type=click.Choice(["toxicity", "sentiment", "multi"]),
    required=True,
    help="What the model predicts (multi: toxicity attributes and sentiment as heads over one encoder).",
)
@click.option(
    "--data",
    "data_files",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV/TSV/JSON Lines with a text column and label columns (repeatable).",
)
@click.option(
    "--val-data",
    "val_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Validation files (default: a held-out share of --data).",
)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Model folder to write, e.g. models/my-toxicity."
)
@click.option(
    "--base",
    type=click.Path(file_okay=False),
    default=None,
    help="Encoder folder to start from (default: the bundled all-MiniLM-L6-v2).",
)
@click.option(
    "--method",
    type=click.Choice(["finetune", "head"]),
    default="finetune",
    show_default=True,
    help="finetune: train the whole encoder; head: frozen encoder + logistic regression (minutes on a CPU).",
)
@click.option("--text-column", default="text", show_default=True)
@click.option(
    "--label-columns", default=None, help="Comma-separated label columns (default: canonical names found in the file)."
)
@click.option("--epochs", type=float, default=1.0, show_default=True)
@click.option("--lr", type=float, default=5e-5, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--max-length", type=int, default=96, show_default=True)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option(
    "--eval-every", type=int, default=400, show_default=True, help="Steps between validations and checkpoints."
)
@click.option(
    "--patience", type=int, default=3, show_default=True, help="Validations without improvement before stopping."
)
@click.option("--max-steps", type=int, default=None, help="Stop after this many steps (smoke runs).")
@click.option("--max-train-rows", type=int, default=None, help="Use at most this many training rows (a seeded sample).")
@click.option(
    "--checkpoint-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to keep resumable state; re-running the same command resumes from it.",
)
@click.option(
    "--context",
    type=click.Choice(["parent"]),
    default=None,
    help="parent: train a context model on (parent, text) pairs from the data's `parent` column "
    "(empty or missing: no parent); it scores replies with their parent (`context_scores`).",
)
@click.option("--threads", type=int, default=None, help="CPU threads for torch.")
@click.option("--device", default=None, help="cpu or cuda (default: CUDA when present).")
def train(
    task,
    data_files,
    val_files,
    out,
    base,
    method,
    text_column,
    label_columns,
    epochs,
    lr,
    batch_size,
    max_length,
    seed,
    eval_every,
    patience,
    max_steps,
    max_train_rows,
    checkpoint_dir,
    threads,
    device,
    context=None,
) -> None:
    """Train a toxicity (multi-label) or sentiment (single-label) classifier and write a
    ready-to-use model folder with thresholds and a model card."""
    import numpy as np

    from analyzer.training.arguments import TrainingArguments
    from analyzer.training.data import load_labeled, split
    from analyzer.training.trainer import Trainer

    cols = [c.strip() for c in label_columns.split(",")] if label_columns else None
    args = TrainingArguments(
        task=task,
        method=method,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        max_length=max_length,
        seed=seed,
        eval_every=eval_every,
        patience=patience,
        max_steps=max_steps,
        max_train_rows=max_train_rows,
        num_threads=threads,
        device=device,
        checkpoint_dir=checkpoint_dir,
        context=context,
    )
    parent = "parent" if context else None
    data = load_labeled(list(data_files), task, text_column=text_column, label_columns=cols, parent_column=parent)
    val = (
        load_labeled(list(val_files), task, text_column=text_column, label_columns=cols, parent_column=parent)
        if val_files
        else None
    )
    train_set, val_set = split(data, val, args.val_fraction, seed)
    if max_train_rows and len(train_set) > max_train_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(train_set), max_train_rows, replace=False))
        train_set = train_set.subset(keep)
    click.echo(f"training on {len(train_set)} rows, validating on {len(val_set)}", err=True)
    command = "analyzer train " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    result = Trainer(
        args,
        train_set,
        val_set,
        base=base,
        command=command,
        data_files=list(data_files) + [f"{f} (validation)" for f in val_files],
    ).train(out)
    m = result.metrics
    summary = _summary(task, m)
    click.echo(f"wrote {out}: validation {summary}", err=True)


def _summary(task: str, m: dict) -> str:
    """The validation headline printed after training."""
    if task == "multi":
        return ", ".join(
            f"{name}: "
            + (
                f"mean ROC-AUC {g['mean_roc_auc']:.3f}"
                if g.get("mean_roc_auc") is not None
                else f"macro recall {g['macro_recall']:.3f}"
                if g.get("macro_recall") is not None
                else "no validation rows"
            )
            for name, g in m["groups"].items()
        )
    if task == "toxicity":
        return f"mean ROC-AUC {m['mean_roc_auc']:.3f}, mean macro-F1 {m['mean_macro_f1']:.3f}"
    return f"macro recall {m['macro_recall']:.3f}, macro-F1 {m['macro_f1']:.3f}"
