"""Classification metrics shared by training (cards, thresholds) and ``analyzer evaluate``."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, recall_score, roc_auc_score

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The decision threshold with the highest F1 of the positive class on validation."""
    if len(np.unique(y)) < 2:
        return 0.5
    best, best_f1 = 0.5, -1.0
    for t in THRESHOLD_GRID:
        f1 = f1_score(y, p >= t, zero_division=0)
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return best


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """ECE over equal-width confidence bins, and the bins themselves (for a reliability plot)."""
    edges = np.linspace(0, 1, bins + 1)
    ece, table = 0.0, []
    for lo, hi in itertools.pairwise(edges):
        mask = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if not mask.any():
            continue
        conf, acc = float(p[mask].mean()), float(y[mask].mean())
        ece += mask.mean() * abs(conf - acc)
        table.append({"lo": float(lo), "hi": float(hi), "confidence": conf, "accuracy": acc, "n": int(mask.sum())})
    return float(ece), table


def pr_curve(y: np.ndarray, p: np.ndarray, step: float = 0.05) -> list[dict[str, float]]:
    """Precision and recall at thresholds step..1-step, so a community can tune a threshold
    and see what it costs (the dashboard's Models page reads this)."""
    out = []
    for t in np.round(np.arange(step, 1.0 - step / 2, step), 2):
        pred = p >= t
        tp = int((pred & (y == 1)).sum())
        out.append(
            {
                "threshold": float(t),
                "precision": tp / int(pred.sum()) if pred.any() else 1.0,
                "recall": tp / int((y == 1).sum()) if (y == 1).any() else 0.0,
            }
        )
    return out


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None


def multilabel_metrics(
    y: np.ndarray, probs: np.ndarray, labels: list[str], thresholds: dict[str, float]
) -> dict[str, Any]:
    """Per-label ROC-AUC, F1 (macro over the two classes) at the given thresholds, ECE; NaN rows ignored."""
    per: dict[str, Any] = {}
    for j, lab in enumerate(labels):
        mask = ~np.isnan(y[:, j])
        yt, pj = y[mask, j].astype(int), probs[mask, j]
        if mask.sum() == 0:
            continue
        t = thresholds.get(lab, 0.5)
        pred = (pj >= t).astype(int)
        ece, _ = expected_calibration_error(yt, pj)
        per[lab] = {
            "n": int(mask.sum()),
            "positives": int(yt.sum()),
            "roc_auc": _auc(yt, pj),
            "macro_f1": float(f1_score(yt, pred, average="macro", zero_division=0)),
            "f1_positive": float(f1_score(yt, pred, zero_division=0)),
            "threshold": float(t),
            "ece": ece,
            "confusion_matrix": confusion_matrix(yt, pred, labels=[0, 1]).tolist(),
            "curve": pr_curve(yt, pj),
        }
    aucs = [m["roc_auc"] for m in per.values() if m["roc_auc"] is not None]
    return {
        "labels": per,
        "mean_roc_auc": float(np.mean(aucs)) if aucs else None,
        "mean_macro_f1": float(np.mean([m["macro_f1"] for m in per.values()])) if per else None,
    }


def multiclass_metrics(y: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Macro recall (TweetEval's sentiment metric), macro-F1, accuracy, one-vs-rest AUC, ECE."""
    pred = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    ece, _ = expected_calibration_error((pred == y).astype(int), conf)
    per = {}
    for j, lab in enumerate(labels):
        yj = (y == j).astype(int)
        per[lab] = {
            "n": int(yj.sum()),
            "roc_auc": _auc(yj, probs[:, j]),
            "recall": float(recall_score(yj, pred == j, zero_division=0)),
            "f1": float(f1_score(yj, pred == j, zero_division=0)),
        }
    return {
        "labels": per,
        "macro_recall": float(recall_score(y, pred, average="macro", labels=list(range(len(labels))), zero_division=0)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=list(range(len(labels))), zero_division=0)),
        "accuracy": float((pred == y).mean()),
        "ece": ece,
        "confusion_matrix": confusion_matrix(y, pred, labels=list(range(len(labels)))).tolist(),
    }


def headline(metrics: dict[str, Any], multi_label: bool) -> float:
    """The one number early stopping watches: mean ROC-AUC (toxicity) or macro recall (sentiment)."""
    value = metrics.get("mean_roc_auc") if multi_label else metrics.get("macro_recall")
    return float(value) if value is not None and not math.isnan(value) else 0.0
