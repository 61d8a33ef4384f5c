"""``analyzer evaluate``: metrics, calibration and an identity-term bias check for a model."""

from __future__ import annotations

import json
from pathlib import Path

import click


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
) -> None:
    """Score labeled data with a model; print and save per-label ROC-AUC, macro-F1 at the
    model's thresholds, macro recall (sentiment), confusion matrix, calibration and bias."""
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.labels import DEFAULT_THRESHOLD
    from analyzer.scoring.scorer import Scorer
    from analyzer.training.data import load_labeled
    from analyzer.training.evaluation import (
        bias_check,
        evaluate_by,
        evaluate_predictions,
        markdown_report,
        plot_confusion,
        plot_reliability,
        reliability,
    )

    cols = [c.strip() for c in label_columns.split(",")] if label_columns else None
    data = load_labeled(list(data_files), task, text_column=text_column, label_columns=cols, group_column=by_column)
    clf = Classifier.from_pretrained(model_dir, device=device, precision=precision)
    scorer = Scorer([clf], batch_size=batch_size, device=device)

    def predict(texts):
        return [s.scores for s in scorer.score_texts(list(texts))]

    preds = predict(data.texts)
    report = evaluate_predictions(data, preds, clf.thresholds)
    report["model"] = f"{clf.name}@{clf.fingerprint}"
    report["precision"] = clf.precision
    report["data"] = list(data_files)
    if by_column:
        report["by"] = {"column": by_column, "groups": evaluate_by(data, preds, clf.thresholds, by_column)}
    if task in ("toxicity", "multi") and not no_bias:
        label = "identity_attack" if "identity_attack" in clf.labels else "toxicity"
        if label in clf.labels:
            report["bias"] = bias_check(predict, label, clf.thresholds.get(label, DEFAULT_THRESHOLD))

    out = Path(out_dir) if out_dir else Path("evaluation") / f"{Path(model_dir).name}-{Path(data_files[0]).stem}"
    out.mkdir(parents=True, exist_ok=True)
    plots = [plot_reliability(reliability(data, preds), out / "reliability.png")]
    if task == "sentiment":
        plots.append(plot_confusion(report["confusion_matrix"], data.labels, "sentiment", out / "confusion.png"))
    else:
        for lab, v in report["labels"].items():
            if "confusion_matrix" in v and len(v["confusion_matrix"]) == 2:
                plots.append(plot_confusion(v["confusion_matrix"], ["no", "yes"], lab, out / f"confusion_{lab}.png"))
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    md = markdown_report(clf.name, ", ".join(Path(f).name for f in data_files), report, plots)
    (out / "report.md").write_text(md)
    click.echo(md)
    click.echo(f"saved {out / 'report.json'}, {out / 'report.md'} and {len(plots)} plot(s)", err=True)
