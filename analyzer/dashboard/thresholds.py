"""Precision and recall of a label at a threshold the community picks, from the best
evidence at hand: a validation curve in the model's ``analyzer.json``, the reviewers'
verdicts in the store, or (only at the model's own threshold) its validation confusion matrix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analyzer.scoring.labels import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD  # re-exported for the views


@dataclass(frozen=True)
class PR:
    """Precision and recall at ``threshold`` (None where undefined), measured on ``n``
    examples (``positives`` of them positive), from ``source``."""

    threshold: float
    precision: float | None
    recall: float | None
    n: int
    positives: int
    source: str


def from_pairs(pairs: Sequence[tuple[float, int]], threshold: float, source: str = "reviewer verdicts") -> PR | None:
    """PR over (score, truth 0/1) pairs; None when there are none."""
    if not pairs:
        return None
    tp = sum(1 for s, y in pairs if y and s >= threshold)
    fp = sum(1 for s, y in pairs if not y and s >= threshold)
    pos = sum(1 for _, y in pairs if y)
    return PR(threshold, tp / (tp + fp) if tp + fp else None, tp / pos if pos else None, len(pairs), pos, source)


def from_confusion(matrix: Sequence[Sequence[int]], threshold: float, source: str = "validation set") -> PR | None:
    """PR from a 2x2 confusion matrix [[tn, fp], [fn, tp]] (sklearn's layout)."""
    try:
        (tn, fp), (fn, tp) = matrix
    except (TypeError, ValueError):
        return None
    n, pos = tn + fp + fn + tp, fn + tp
    return PR(threshold, tp / (tp + fp) if tp + fp else None, tp / pos if pos else None, n, pos, source)


def from_curve(curve: Sequence[Mapping[str, Any]], threshold: float, source: str = "validation set") -> PR | None:
    """PR at the curve point nearest ``threshold`` (points: threshold, precision, recall[, n, positives])."""
    points = [p for p in curve if isinstance(p, Mapping) and "threshold" in p]
    if not points:
        return None
    p = min(points, key=lambda q: abs(float(q["threshold"]) - threshold))
    return PR(
        float(p["threshold"]),
        p.get("precision"),
        p.get("recall"),
        int(p.get("n", 0) or 0),
        int(p.get("positives", 0) or 0),
        source,
    )


def label_metrics(meta: Mapping[str, Any] | None, label: str) -> Mapping[str, Any]:
    """The validation metrics an ``analyzer.json`` holds for ``label`` ({} when none)."""
    metrics = (meta or {}).get("metrics") or {}
    labels = metrics.get("labels") if isinstance(metrics, Mapping) else None
    value = labels.get(label) if isinstance(labels, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def validation_pr(meta: Mapping[str, Any] | None, label: str, threshold: float) -> PR | None:
    """Validation PR at ``threshold`` from the model's own metrics: a curve when it has
    one, else its confusion matrix when ``threshold`` is the one it was measured at."""
    m = label_metrics(meta, label)
    curve = m.get("curve") or m.get("pr_curve")
    if isinstance(curve, Sequence) and curve:
        return from_curve(curve, threshold)
    measured = m.get("threshold")
    if "confusion_matrix" in m and measured is not None and abs(float(measured) - threshold) < 1e-9:
        return from_confusion(m["confusion_matrix"], threshold)
    return None


def effective(model_thresholds: Mapping[str, float], tuned: Mapping[str, float]) -> dict[str, float]:
    """The thresholds in force: the tuned ones over the models' own."""
    return {**{k: float(v) for k, v in model_thresholds.items()}, **{k: float(v) for k, v in tuned.items()}}
