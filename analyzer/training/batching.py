"""Rows into model inputs and back, for training: encoding, length-sorted batches, padding,
batched probabilities. Both training methods and the validation during fine-tuning read rows
through these, built as the scoring engine builds its own (so what training measures is what
scoring sees)."""

from __future__ import annotations

from typing import Any

import numpy as np

from analyzer.training.arguments import TrainingArguments
from analyzer.training.data import LabeledData
from analyzer.training.heads import Slices, activate

Features = list[dict[str, list[int]]]


def encode(tokenizer, data: LabeledData, args: TrainingArguments) -> Features:
    """Model inputs per row: the text, or with ``--context parent`` the (parent, text)
    pair built exactly as the scorer builds it (``scoring.pairs``; the first window)."""
    if args.context != "parent":
        enc = tokenizer(data.texts, truncation=True, max_length=args.max_length)
        return [{"input_ids": ids} for ids in enc["input_ids"]]
    from analyzer.scoring.pairs import pair_template, pair_windows

    template = pair_template(tokenizer)
    plain = lambda texts: tokenizer(texts, add_special_tokens=False)["input_ids"]  # noqa: E731
    parents = plain([p or "" for p in (data.parents or [""] * len(data))])
    replies = plain(data.texts)
    out = []
    for parent, reply in zip(parents, replies):
        ids, types, _ = pair_windows(template, parent, reply, args.max_length)[0]
        out.append({"input_ids": ids, "token_type_ids": types})
    return out


def token_lengths(feats: Features) -> np.ndarray:
    """Tokens per row."""
    return np.array([len(r["input_ids"]) for r in feats])


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length (less padding), in a reproducible order."""
    bs = batch_size
    order = rng.permutation(len(lengths))
    chunk = bs * 50
    batches: list[np.ndarray] = []
    for i in range(0, len(order), chunk):
        part = order[i : i + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[j : j + bs] for j in range(0, len(part), bs))
    rng.shuffle(batches)
    return batches


def collate(tokenizer, feats: Features, idx: np.ndarray, device) -> dict[str, Any]:
    """One padded batch (the tokenizer pads, as the scorer's does), on ``device``."""
    batch = tokenizer.pad([feats[i] for i in idx], return_tensors="pt")
    return {k: v.to(device) for k, v in batch.items()}


def predict(model, feats: Features, tokenizer, device, *, slices: Slices | None, multi_label: bool) -> np.ndarray:
    """Probabilities per row, in batches of 128 rows of similar length: per label group with
    ``slices``, else sigmoids (multi-label) or one softmax."""
    import torch

    model.eval()
    order = np.argsort(token_lengths(feats), kind="stable")
    out = np.zeros((len(feats), model.config.num_labels), dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, len(order), 128):
            idx = order[i : i + 128]
            logits = model(**collate(tokenizer, feats, idx, device)).logits.float()
            if slices:
                probs = activate(logits, slices)
            else:
                probs = torch.sigmoid(logits) if multi_label else torch.softmax(logits, -1)
            out[idx] = probs.cpu().numpy()
    return out
