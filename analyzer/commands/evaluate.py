"""``analyzer evaluate``: metrics, calibration and an identity-term bias check for a model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from analyzer.scoring.classifier import Classifier
    from analyzer.training.data import LabeledData
    from analyzer.training.evaluation import Predict


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(), help="Model folder to evaluate.")
@click.option(
    "--data",
    "data_files",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Labeled CSV/TSV/JSON Lines, same format as `analyzer train` (repeatable).",
)
@click.option(
    "--task",
    type=click.Choice(["toxicity", "sentiment", "multi"]),
    required=True,
    help="multi: toxicity 0/1 columns, sentiment and polarity columns, as `analyzer train --task multi` reads.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for report.json, report.md and plots (default: evaluation/<model>-<data>).",
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-columns", default=None, help="Comma-separated label columns.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--device", default=None)
@click.option("--no-bias", is_flag=True, help="Skip the identity-term bias check.")
@click.option(
    "--by",
    "by_column",
    default=None,
    metavar="COLUMN",
    help="Also report metrics per value of COLUMN (e.g. a functional suite's 'functionality' or a 'target_group').",
)
@click.option(
    "--precision",
    type=click.Choice(["float32", "bfloat16", "int8", "auto"]),
    default="float32",
    show_default=True,
    help="Run the model as `analyzer score --precision` would (to check a fast option).",
)
@click.option(
    "--context",
    is_flag=True,
    help="Labels were given with the parent shown: read the data's `parent` column and report "
    "--model on the reply alone beside the context model on (parent, reply).",
)
@click.option(
    "--context-model",
    "context_dir",
    default=None,
    type=click.Path(),
    help="The pair model for --context (default: the first model under models/ whose analyzer.json "
    'says "context": "parent").',
)
@click.option("--parent-column", default="parent", show_default=True, help="With --context: the parent text column.")
def evaluate(
    model_dir,
    data_files,
    task,
    out_dir,
    text_column,
    label_columns,
    batch_size,
    device,
    no_bias,
    by_column=None,
    precision="float32",
    context=False,
    context_dir=None,
    parent_column="parent",
) -> None:
    """Score labeled data with a model; print and save per-label ROC-AUC, macro-F1 at the
    model's thresholds, macro recall (sentiment), confusion matrix, calibration and bias.
    With --context, compare it with the context model on labels given with the parent."""
    if context:
        _evaluate_context(
            model_dir,
            context_dir,
            data_files,
            task,
            out_dir,
            text_column,
            label_columns,
            parent_column,
            batch_size,
            device,
            precision,
        )
    else:
        _evaluate_alone(
            model_dir,
            data_files,
            task,
            out_dir,
            text_column,
            label_columns,
            batch_size,
            device,
            no_bias,
            by_column,
            precision,
        )


def _columns(label_columns: str | None) -> list[str] | None:
    """``--label-columns``: the comma-separated names, or None for the data's own."""
    return [c.strip() for c in label_columns.split(",")] if label_columns else None


def _data_names(data_files: Sequence[str]) -> str:
    return ", ".join(Path(f).name for f in data_files)


def _evaluate_alone(
    model_dir: str,
    data_files: Sequence[str],
    task: str,
    out_dir: str | None,
    text_column: str,
    label_columns: str | None,
    batch_size: int,
    device: str | None,
    no_bias: bool,
    by_column: str | None,
    precision: str,
) -> None:
    """One model on the data: its metrics (per group, bias), plots, report.json and report.md."""
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer
    from analyzer.training.data import load_labeled
    from analyzer.training.evaluation import markdown_report

    data = load_labeled(
        list(data_files), task, text_column=text_column, label_columns=_columns(label_columns), group_column=by_column
    )
    clf = Classifier.from_pretrained(model_dir, device=device, precision=precision)
    scorer = Scorer([clf], batch_size=batch_size, device=device)

    def predict(texts: Sequence[str]) -> list[dict[str, float]]:
        return [s.scores for s in scorer.score_texts(list(texts))]

    preds = predict(data.texts)
    report = _model_report(
        data, preds, clf, predict, data_files, by_column, bias=task in ("toxicity", "multi") and not no_bias
    )
    out = Path(out_dir) if out_dir else Path("evaluation") / f"{Path(model_dir).name}-{Path(data_files[0]).stem}"
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(data, preds, report, task, out)
    _save(out, report, markdown_report(clf.name, _data_names(data_files), report, plots))
    click.echo(f"saved {out / 'report.json'}, {out / 'report.md'} and {len(plots)} plot(s)", err=True)


def _model_report(
    data: LabeledData,
    preds: list[dict[str, float]],
    clf: Classifier,
    predict: Predict,
    data_files: Sequence[str],
    by_column: str | None,
    *,
    bias: bool,
) -> dict[str, Any]:
    """The metrics at the model's thresholds, which model and data gave them, per group of
    ``by_column``, and the identity-term bias check where asked and the model has the label."""
    from analyzer.scoring.labels import DEFAULT_THRESHOLD
    from analyzer.training.evaluation import bias_check, evaluate_by, evaluate_predictions

    report = evaluate_predictions(data, preds, clf.thresholds)
    report["model"] = f"{clf.name}@{clf.fingerprint}"
    report["precision"] = clf.precision
    report["data"] = list(data_files)
    if by_column:
        report["by"] = {"column": by_column, "groups": evaluate_by(data, preds, clf.thresholds, by_column)}
    if bias:
        label = "identity_attack" if "identity_attack" in clf.labels else "toxicity"
        if label in clf.labels:
            report["bias"] = bias_check(predict, label, clf.thresholds.get(label, DEFAULT_THRESHOLD))
    return report


def _plots(
    data: LabeledData, preds: list[dict[str, float]], report: dict[str, Any], task: str, out: Path
) -> list[Path]:
    """The reliability diagram and a confusion matrix per label (the sentiment classes' one)."""
    from analyzer.training.evaluation import plot_confusion, plot_reliability, reliability

    plots = [plot_reliability(reliability(data, preds), out / "reliability.png")]
    if task == "sentiment":
        plots.append(plot_confusion(report["confusion_matrix"], data.labels, "sentiment", out / "confusion.png"))
    else:
        for lab, v in report["labels"].items():
            if "confusion_matrix" in v and len(v["confusion_matrix"]) == 2:
                plots.append(plot_confusion(v["confusion_matrix"], ["no", "yes"], lab, out / f"confusion_{lab}.png"))
    return plots


def _save(out: Path, report: dict[str, Any], md: str) -> None:
    """report.json and report.md in ``out``; the Markdown printed too."""
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(md)
    click.echo(md)


def _context_model_dir(context_dir: str | None) -> Path:
    """The pair model: the one given, else the first local model that reads context."""
    from analyzer.errors import InputError
    from analyzer.scoring.config import ModelConfig
    from analyzer.scoring.defaults import model_roots

    if context_dir:
        return Path(context_dir)
    for root in model_roots():
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if (folder / "analyzer.json").is_file() and ModelConfig.load(folder).context == "parent":
                return folder
    raise InputError(
        'no context model found under models/; pass --context-model DIR (analyzer.json "context": "parent")'
    )


def _evaluate_context(
    model_dir,
    context_dir,
    data_files,
    task,
    out_dir,
    text_column,
    label_columns,
    parent_column,
    batch_size,
    device,
    precision,
) -> None:
    from analyzer.errors import InputError
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer
    from analyzer.training.data import load_labeled
    from analyzer.training.evaluation import compare_context, context_markdown

    if task != "toxicity":
        raise InputError("--context compares toxicity models: use --task toxicity")
    data = load_labeled(
        list(data_files),
        task,
        text_column=text_column,
        label_columns=_columns(label_columns),
        parent_column=parent_column,
    )
    alone = Classifier.from_pretrained(model_dir, device=device, precision=precision)
    pair = Classifier.from_pretrained(_context_model_dir(context_dir), device=device, precision=precision)
    if alone.context == "parent":
        raise InputError(f"--model {model_dir} reads context itself; give the context-free model as --model")
    if pair.context != "parent":
        raise InputError(f'{context_dir} does not read context (its analyzer.json has no "context": "parent")')
    scorer = Scorer([alone, pair], batch_size=batch_size, device=device)
    alone_preds = [s.scores for s in scorer.score_texts(data.texts)]
    parents = data.parents or [""] * len(data)
    context_preds = [s.scores for s in scorer.score_pairs(list(zip(parents, data.texts)))]
    report = compare_context(data, alone_preds, context_preds, alone.thresholds, pair.thresholds)
    report["models"] = {"alone": f"{alone.name}@{alone.fingerprint}", "in_context": f"{pair.name}@{pair.fingerprint}"}
    report["data"] = list(data_files)
    out = Path(out_dir) if out_dir else Path("evaluation") / f"context-{pair.name}-{Path(data_files[0]).stem}"
    out.mkdir(parents=True, exist_ok=True)
    _save(out, report, context_markdown(alone.name, pair.name, _data_names(data_files), report))
    click.echo(f"saved {out / 'report.json'} and {out / 'report.md'}", err=True)
