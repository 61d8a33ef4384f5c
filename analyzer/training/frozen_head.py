"""The frozen-encoder head (``--method head``): the encoder's weights stay as loaded, only the
classification layer is fitted, by logistic regression on the pooled output."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from analyzer.training.arguments import TrainingArguments
from analyzer.training.batching import Features, collate, encode, token_lengths
from analyzer.training.data import LabeledData


def fit_head(
    model, tokenizer, device, train: LabeledData, args: TrainingArguments, *, progress: bool
) -> list[dict[str, Any]]:
    """Fit logistic regression on the frozen encoder's pooled output, then write its
    coefficients into the classifier layer, so the folder is a standard classifier."""
    import torch

    feats = pooled_features(model, encode(tokenizer, train, args), tokenizer, device, progress=progress)
    if train.multi_label:
        weight, bias = _fit_multilabel(feats, train, args.seed)
    else:
        weight, bias = _fit_multiclass(feats, train, args.seed)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(weight))
        model.classifier.bias.copy_(torch.from_numpy(bias))
    return [{"step": 0, "train_rows": len(feats)}]


def _fit_multilabel(feats: np.ndarray, train: LabeledData, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One binary regression per label on its labeled rows; a label with one class in the
    data gets a constant (a bias far to that side)."""
    from sklearn.linear_model import LogisticRegression

    weight, bias = _zeros(feats, train)
    for j, _ in enumerate(train.labels):
        mask = ~np.isnan(train.y[:, j])
        yj = train.y[mask, j].astype(int)
        if len(np.unique(yj)) < 2:
            bias[j] = 10.0 if (len(yj) and yj[0] == 1) else -10.0
            continue
        clf = LogisticRegression(C=1.0, max_iter=2000, class_weight=None, random_state=seed)
        clf.fit(feats[mask], yj)
        weight[j], bias[j] = clf.coef_[0], clf.intercept_[0]
    return weight, bias


def _fit_multiclass(feats: np.ndarray, train: LabeledData, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One multinomial regression; a class absent from the data is never predicted."""
    from sklearn.linear_model import LogisticRegression

    weight, bias = _zeros(feats, train)
    clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    clf.fit(feats, train.y)
    present = list(clf.classes_)
    for k, cls in enumerate(present):
        weight[cls], bias[cls] = clf.coef_[k], clf.intercept_[k]
    for cls in set(range(len(train.labels))) - set(present):
        bias[cls] = -30.0
    return weight, bias


def _zeros(feats: np.ndarray, train: LabeledData) -> tuple[np.ndarray, np.ndarray]:
    labels = train.labels
    return np.zeros((len(labels), feats.shape[1]), dtype=np.float32), np.zeros(len(labels), dtype=np.float32)


def pooled_features(model, feats: Features, tokenizer, device, *, progress: bool) -> np.ndarray:
    """The pooled vectors the classification layer of a BERT-style classifier sees."""
    import torch
    from tqdm.auto import tqdm

    model.eval()
    encoder = getattr(model, model.base_model_prefix)
    order = np.argsort(token_lengths(feats), kind="stable")
    out = np.zeros((len(feats), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for i in tqdm(range(0, len(order), 128), desc="embedding", disable=not progress, file=sys.stderr):
            idx = order[i : i + 128]
            pooled = encoder(**collate(tokenizer, feats, idx, device)).pooler_output
            out[idx] = pooled.float().cpu().numpy()
    return out
