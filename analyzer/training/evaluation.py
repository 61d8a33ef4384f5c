"""``analyzer evaluate``: measure a model on labeled data, with calibration and an
identity-term bias check; writes JSON, a Markdown report and PNG plots."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from analyzer.errors import InputError
from analyzer.training.data import LabeledData
from analyzer.training.metrics import expected_calibration_error, multiclass_metrics, multilabel_metrics

Predict = Callable[[Sequence[str]], list[dict[str, float]]]


def _matrix(preds: list[dict[str, float]], labels: list[str]) -> np.ndarray:
    return np.array([[p.get(lab, np.nan) for lab in labels] for p in preds], dtype=float)


def evaluate_predictions(
    data: LabeledData, preds: list[dict[str, float]], thresholds: dict[str, float]
) -> dict[str, Any]:
    """Metrics for labels the model provides; labels the data has but the model lacks are listed, not invented."""
    model_labels = [lab for lab in data.labels if preds and lab in preds[0]]
    missing = [lab for lab in data.labels if lab not in model_labels]
    if not model_labels:
        raise InputError(f"the model predicts none of the data's labels ({', '.join(data.labels)})")
    if data.groups:  # a multi-head set: each group measured as its activation asks
        from analyzer.training.heads import group_metrics, group_slices

        groups = [g for g in data.groups if all(lab in model_labels for lab in g.labels)]
        probs = np.nan_to_num(_matrix(preds, data.labels), nan=0.0)
        report = group_metrics(data.y, probs, data.labels, group_slices(data.labels, groups), thresholds)
        report["labels"] = {k: v for g in report["groups"].values() for k, v in g.get("labels", {}).items()}
    elif data.multi_label:
        y = data.align(model_labels).y
        report = multilabel_metrics(y, _matrix(preds, model_labels), model_labels, thresholds)
    else:
        report = multiclass_metrics(data.y, _matrix(preds, data.labels), data.labels)
    report["n"] = len(data)
    report["labels_not_predicted"] = missing
    return report


def evaluate_by(
    data: LabeledData, preds: list[dict[str, float]], thresholds: dict[str, float], column: str
) -> dict[str, Any]:
    """The same metrics for each value of ``column`` (``data.sources`` holds it): a functional
    test suite's functionalities, a bias audit's target groups. Accuracy at the thresholds is
    given beside ROC-AUC, since a functionality is often all positive or all negative."""
    if data.sources is None:
        raise InputError(f"no column {column!r} was read")
    values = np.array(data.sources, dtype=object)
    out: dict[str, Any] = {}
    for value in sorted(set(data.sources)):
        idx = np.flatnonzero(values == value)
        part = data.subset(idx)
        sub = [preds[i] for i in idx]
        row: dict[str, Any] = {"n": len(part)}
        try:
            metrics = evaluate_predictions(part, sub, thresholds)
        except (InputError, ValueError) as exc:
            row["error"] = str(exc)
            out[str(value)] = row
            continue
        row["labels"] = {}
        if part.multi_label:
            for j, lab in enumerate(part.labels):
                if lab not in metrics.get("labels", {}):
                    continue
                mask = ~np.isnan(part.y[:, j])
                truth = part.y[mask, j].astype(int)
                p = np.array([sub[i][lab] for i in np.flatnonzero(mask)])
                acc = float(((p >= thresholds.get(lab, 0.5)).astype(int) == truth).mean()) if len(p) else None
                row["labels"][lab] = {
                    "n": int(mask.sum()),
                    "positives": int(truth.sum()),
                    "roc_auc": metrics["labels"][lab].get("roc_auc"),
                    "accuracy": acc,
                }
        else:
            row["accuracy"] = metrics.get("accuracy")
            row["macro_recall"] = metrics.get("macro_recall")
        out[str(value)] = row
    return out


def reliability(data: LabeledData, preds: list[dict[str, float]]) -> dict[str, list[dict[str, float]]]:
    """Reliability-diagram bins per label (multi-label) or for the top class (single-label)."""
    out = {}
    if data.multi_label:
        for j, lab in enumerate(data.labels):
            if not preds or lab not in preds[0]:
                continue
            mask = ~np.isnan(data.y[:, j])
            p = np.array([preds[i][lab] for i in np.flatnonzero(mask)])
            out[lab] = expected_calibration_error(data.y[mask, j].astype(int), p)[1]
    else:
        probs = _matrix(preds, data.labels)
        out["top class"] = expected_calibration_error((probs.argmax(1) == data.y).astype(int), probs.max(1))[1]
    return out


def bias_templates() -> tuple[list[str], list[int], list[str]]:
    """Texts, toxic (1) or benign (0), and the identity each mentions, from the shipped template set."""
    spec = json.loads(resources.files("analyzer").joinpath("data/bias_templates.json").read_text())
    texts, ys, ids = [], [], []
    for identity in spec["identities"]:
        article = "an" if identity[0] in "aeiou" else "a"
        for y, group in ((0, spec["benign"]), (1, spec["toxic"])):
            for tpl in group:
                texts.append(tpl.format(identity=identity, Identity=identity.capitalize(), a=article))
                ys.append(y)
                ids.append(identity)
    return texts, ys, ids


def bias_check(predict: Predict, label: str, threshold: float) -> dict[str, Any]:
    """Subgroup ROC-AUC and false-positive rate on benign sentences, per identity term."""
    texts, ys, ids = bias_templates()
    scores = np.array([p.get(label, np.nan) for p in predict(texts)])
    y, ids_arr = np.array(ys), np.array(ids)
    benign = y == 0
    overall_fpr = float((scores[benign] >= threshold).mean())
    rows: list[dict[str, Any]] = []
    for identity in dict.fromkeys(ids):
        m = ids_arr == identity
        rows.append(
            {
                "identity": identity,
                "subgroup_auc": float(roc_auc_score(y[m], scores[m])),
                "benign_fpr": float((scores[m & benign] >= threshold).mean()),
                "benign_mean_score": float(scores[m & benign].mean()),
            }
        )
    rows.sort(key=lambda r: -r["benign_fpr"])
    return {
        "label": label,
        "threshold": threshold,
        "overall_auc": float(roc_auc_score(y, scores)),
        "overall_benign_fpr": overall_fpr,
        "identities": rows,
        "flagged": [r["identity"] for r in rows if r["benign_fpr"] > overall_fpr + 0.1 or r["subgroup_auc"] < 0.8],
    }


def plot_reliability(bins: dict[str, list[dict[str, float]]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    for lab, table in bins.items():
        ax.plot([b["confidence"] for b in table], [b["accuracy"] for b in table], marker="o", label=lab)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title("Reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion(matrix: list[list[int]], labels: list[str], title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.array(matrix)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color="black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown_report(model_name: str, data_name: str, report: dict[str, Any], plots: list[Path]) -> str:
    """A human-readable summary of ``report`` with links to the plots."""
    lines = [f"# Evaluation of `{model_name}` on `{data_name}`", "", f"{report['n']} rows.", ""]
    if "macro_recall" in report:
        lines += [
            f"- macro recall: **{report['macro_recall']:.4f}**",
            f"- macro-F1: {report['macro_f1']:.4f}",
            f"- accuracy: {report['accuracy']:.4f}",
            f"- expected calibration error: {report['ece']:.4f}",
            "",
            *_class_table(report["labels"]),
        ]
    else:
        lines += _label_tables(report["labels"])
    for name, group in report.get("groups", {}).items():
        if "macro_recall" in group:
            lines += [
                "",
                f"Group `{name}`: macro recall **{group['macro_recall']:.4f}**, accuracy {group['accuracy']:.4f}",
            ]
        if "partial_accuracy" in group:
            lines += [
                "",
                f"Group `{name}`, positive vs negative rows: accuracy {group['partial_accuracy']:.4f} (n={group['partial_n']})",
            ]
    if report.get("labels_not_predicted"):
        lines += ["", f"Not predicted by this model: {', '.join(report['labels_not_predicted'])}."]
    bias = report.get("bias")
    if bias:
        lines += [
            "",
            f"## Identity-term bias ({bias['label']}, threshold {bias['threshold']:.2f})",
            "",
            f"Overall template AUC {bias['overall_auc']:.3f}; false-positive rate on benign sentences "
            f"{bias['overall_benign_fpr']:.3f}. Flagged: {', '.join(bias['flagged']) or 'none'}.",
            "",
            "| identity | subgroup AUC | benign FPR | mean benign score |",
            "|---|---|---|---|",
        ]
        for r in bias["identities"]:
            lines.append(
                f"| {r['identity']} | {r['subgroup_auc']:.3f} | {r['benign_fpr']:.3f} | {r['benign_mean_score']:.3f} |"
            )
    by = report.get("by")
    if by:
        lines += [
            "",
            f"## By {by['column']}",
            "",
            "| value | n | label | positives | accuracy @ threshold | ROC-AUC |",
            "|---|---|---|---|---|---|",
        ]
        for value, row in by["groups"].items():
            if "error" in row:
                lines.append(f"| {value} | {row['n']} | – | – | – | {row['error']} |")
            elif row.get("labels"):
                for lab, v in row["labels"].items():
                    acc = f"{v['accuracy']:.3f}" if v["accuracy"] is not None else "–"
                    auc = f"{v['roc_auc']:.3f}" if v.get("roc_auc") is not None else "–"
                    lines.append(f"| {value} | {v['n']} | {lab} | {v['positives']} | {acc} | {auc} |")
            else:
                acc = f"{row['accuracy']:.3f}" if row.get("accuracy") is not None else "–"
                lines.append(f"| {value} | {row['n']} | sentiment | – | {acc} | – |")
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"


def _label_tables(labels: dict[str, Any]) -> list[str]:
    """The table of binary labels; a multi-head report's softmax classes (recall and F1, no
    threshold) get a table of their own."""
    lines = [
        "| label | n | positives | ROC-AUC | macro-F1 @ threshold | threshold | ECE |",
        "|---|---|---|---|---|---|---|",
    ]
    classes = {lab: v for lab, v in labels.items() if "positives" not in v}
    for lab, v in labels.items():
        if lab in classes:
            continue
        auc = f"{v['roc_auc']:.4f}" if v["roc_auc"] is not None else "–"
        lines.append(
            f"| {lab} | {v['n']} | {v['positives']} | {auc} | {v['macro_f1']:.4f} | {v['threshold']:.2f} | {v['ece']:.4f} |"
        )
    if classes:
        lines += ["", *_class_table(classes)]
    return lines


def _class_table(labels: dict[str, Any]) -> list[str]:
    """The table of softmax classes: recall, F1 and one-vs-rest ROC-AUC each."""
    lines = ["| label | n | recall | F1 | ROC-AUC |", "|---|---|---|---|---|"]
    for lab, v in labels.items():
        auc = f"{v['roc_auc']:.4f}" if v["roc_auc"] is not None else "–"
        lines.append(f"| {lab} | {v['n']} | {v['recall']:.4f} | {v['f1']:.4f} | {auc} |")
    return lines


def compare_context(
    data: LabeledData,
    alone: list[dict[str, float]],
    in_context: list[dict[str, float]],
    thresholds_alone: dict[str, float],
    thresholds_context: dict[str, float],
) -> dict[str, Any]:
    """Both models on labels given with the parent shown: the context-free model reads the
    reply alone, the pair model reads (parent, reply). Rows with an empty parent are
    reported apart too, since there the pair model has nothing more to go on. ``shift``
    says how far context moved each label's score (mean and the share moved by > 0.2)."""
    parents = data.parents or [""] * len(data)
    with_parent = np.array([bool(p.strip()) for p in parents])
    report: dict[str, Any] = {
        "n": len(data),
        "with_parent": int(with_parent.sum()),
        "alone": evaluate_predictions(data, alone, thresholds_alone),
        "in_context": evaluate_predictions(data, in_context, thresholds_context),
    }
    if with_parent.any() and not with_parent.all():
        idx = np.flatnonzero(with_parent)
        part = data.subset(idx)
        report["replies_only"] = {
            "alone": evaluate_predictions(part, [alone[i] for i in idx], thresholds_alone),
            "in_context": evaluate_predictions(part, [in_context[i] for i in idx], thresholds_context),
        }
    shift: dict[str, Any] = {}
    for lab in data.labels:
        if not (alone and lab in alone[0] and in_context and lab in in_context[0]):
            continue
        delta = np.array([c[lab] - a[lab] for a, c in zip(alone, in_context)])[with_parent]
        if len(delta):
            shift[lab] = {
                "mean": float(delta.mean()),
                "raised_over_0.2": float((delta > 0.2).mean()),
                "lowered_over_0.2": float((delta < -0.2).mean()),
            }
    report["shift"] = shift
    return report


def context_markdown(alone_name: str, context_name: str, data_name: str, report: dict[str, Any]) -> str:
    """A table of both models side by side on each label, then the shift context made."""

    def cell(r: dict[str, Any], lab: str, key: str) -> str:
        v = r["labels"].get(lab, {}).get(key)
        return f"{v:.4f}" if isinstance(v, float) else "–"

    lines = [
        f"# Context: `{alone_name}` (reply alone) vs `{context_name}` (reply with its parent) on `{data_name}`",
        "",
        f"{report['n']} rows, {report['with_parent']} with a parent.",
        "",
    ]
    sections = [("all rows", report)]
    if "replies_only" in report:
        sections.append(("rows with a parent", report["replies_only"]))
    for title, part in sections:
        lines += [
            f"## {title}",
            "",
            "| label | positives | ROC-AUC alone | ROC-AUC in context | macro-F1 alone | macro-F1 in context |",
            "|---|---|---|---|---|---|",
        ]
        for lab, v in part["in_context"]["labels"].items():
            a, c = part["alone"], part["in_context"]
            lines.append(
                f"| {lab} | {v['positives']} | {cell(a, lab, 'roc_auc')} | {cell(c, lab, 'roc_auc')} "
                f"| {cell(a, lab, 'macro_f1')} | {cell(c, lab, 'macro_f1')} |"
            )
        lines.append("")
    if report["shift"]:
        lines += ["## How far the parent moved the score", "", "| label | mean shift | raised > 0.2 | lowered > 0.2 |"]
        lines.append("|---|---|---|---|")
        for lab, s in report["shift"].items():
            lines.append(f"| {lab} | {s['mean']:+.4f} | {s['raised_over_0.2']:.1%} | {s['lowered_over_0.2']:.1%} |")
    return "\n".join(lines) + "\n"
