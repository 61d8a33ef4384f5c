"""Loss, activation and metrics for label groups: several heads over one encoder.

A multi-head model's outputs are split into groups (toxicity attributes as independent
sigmoids, sentiment as one softmax). A training row may label only some groups, and a
softmax row may know only some classes (review sets say negative or positive, never
neutral): the loss of a group covers the rows and classes that are labeled, and each group's
mean loss counts once per batch, so a task with more rows does not drown the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from analyzer.scoring.config import LabelGroup
from analyzer.training.metrics import best_threshold, multiclass_metrics, multilabel_metrics

if TYPE_CHECKING:
    import torch

Slices = list[tuple[LabelGroup, list[int]]]


def group_slices(labels: list[str], groups: list[LabelGroup]) -> Slices:
    """Each group with the output columns of its labels."""
    return [(g, [labels.index(lab) for lab in g.labels]) for g in groups]


def activate(logits: torch.Tensor, slices: Slices) -> torch.Tensor:
    """Probabilities: sigmoid or softmax per group (the scoring engine's own function)."""
    from analyzer.scoring.classifier import activate_groups

    return activate_groups(logits, [(group.activation, cols) for group, cols in slices])


def group_loss(logits: torch.Tensor, target: torch.Tensor, slices: Slices) -> torch.Tensor:
    """Sum over groups of each group's mean loss over the labeled entries (NaN = unlabeled)."""
    import torch
    import torch.nn.functional as F

    total = logits.new_zeros(())
    for group, cols in slices:
        t, z = target[:, cols], logits[:, cols]
        known = ~torch.isnan(t)
        if group.activation == "sigmoid":
            if known.any():
                losses = F.binary_cross_entropy_with_logits(z, torch.nan_to_num(t), reduction="none")
                total = total + (losses * known).sum() / known.sum()
            continue
        rows = known.any(dim=1)
        if not rows.any():
            continue
        # classes the row does not know are masked out of its softmax
        masked = z[rows].masked_fill(~known[rows], float("-inf"))
        total = total + F.cross_entropy(masked, torch.nan_to_num(t[rows]).argmax(dim=1))
    return total


def tune_thresholds(y: np.ndarray, probs: np.ndarray, labels: list[str], slices: Slices) -> dict[str, float]:
    """Best-F1 thresholds for sigmoid labels, 0.5 for softmax classes (the argmax decides)."""
    out = {lab: 0.5 for lab in labels}
    for group, cols in slices:
        if group.activation != "sigmoid":
            continue
        for j in cols:
            mask = ~np.isnan(y[:, j])
            if mask.any():
                out[labels[j]] = best_threshold(y[mask, j].astype(int), probs[mask, j])
    return out


def group_metrics(
    y: np.ndarray, probs: np.ndarray, labels: list[str], slices: Slices, thresholds: dict[str, float]
) -> dict[str, Any]:
    """Per group: multi-label metrics for sigmoids; for a softmax group, multi-class metrics
    on rows that know every class and, where some rows know only two (review polarity),
    the accuracy of the better of those two."""
    report: dict[str, Any] = {"groups": {}}
    for group, cols in slices:
        names = [labels[j] for j in cols]
        if group.activation == "sigmoid":
            report["groups"][group.name] = multilabel_metrics(y[:, cols], probs[:, cols], names, thresholds)
            continue
        t, p = y[:, cols], probs[:, cols]
        full = ~np.isnan(t).any(axis=1)
        part: dict[str, Any] = {}
        if full.any():
            part = multiclass_metrics(t[full].argmax(axis=1), p[full], names)
        partial = np.isnan(t).any(axis=1) & ~np.isnan(t).all(axis=1)
        if partial.any():
            tp, pp = t[partial], p[partial]
            pp = np.where(np.isnan(tp), -1.0, pp)
            part["partial_accuracy"] = float((pp.argmax(axis=1) == np.nan_to_num(tp).argmax(axis=1)).mean())
            part["partial_n"] = int(partial.sum())
        report["groups"][group.name] = part
    return report


def group_headline(report: dict[str, Any]) -> float:
    """The one number early stopping watches: the mean over groups of mean ROC-AUC
    (sigmoid groups) or macro recall (softmax groups)."""
    values = []
    for metrics in report["groups"].values():
        value = metrics.get("mean_roc_auc", metrics.get("macro_recall"))
        if value is not None:
            values.append(float(value))
    return float(np.mean(values)) if values else 0.0
