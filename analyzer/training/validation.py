"""Validation metrics and thresholds of a training run: what fine-tuning watches after every
``eval_every`` steps and what the trainer writes into the saved model's card."""

from __future__ import annotations

from typing import Any

import numpy as np

from analyzer.training.data import LabeledData
from analyzer.training.heads import Slices, group_headline, group_metrics, tune_thresholds
from analyzer.training.metrics import best_threshold, headline, multiclass_metrics, multilabel_metrics


def validate(
    data: LabeledData, probs: np.ndarray, slices: Slices | None, thresholds: dict[str, float] | None = None
) -> tuple[dict[str, Any], dict[str, float]]:
    """Metrics of ``probs`` on ``data``, and the thresholds they used: chosen on ``data`` per
    label when none are given (multi-label), 0.5 for single-label classes."""
    if slices:
        return _validate_groups(data, probs, slices, thresholds)
    if data.multi_label:
        if thresholds is None:
            thresholds = {}
            for j, lab in enumerate(data.labels):
                mask = ~np.isnan(data.y[:, j])
                thresholds[lab] = best_threshold(data.y[mask, j].astype(int), probs[mask, j]) if mask.any() else 0.5
        return multilabel_metrics(data.y, probs, data.labels, thresholds), thresholds
    thresholds = thresholds or {lab: 0.5 for lab in data.labels}
    return multiclass_metrics(data.y, probs, data.labels), thresholds


def validation_score(metrics: dict[str, Any], slices: Slices | None, multi_label: bool) -> float:
    """The one number early stopping and the best checkpoint go by."""
    return float(metrics["headline"]) if slices else headline(metrics, multi_label)


def _validate_groups(
    data: LabeledData, probs: np.ndarray, slices: Slices, thresholds: dict[str, float] | None
) -> tuple[dict[str, Any], dict[str, float]]:
    """Metrics per label group, flattened per label too (cards and the dashboard read
    ``labels``), and per data source when the rows say where they came from."""
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
