"""Cross-fitted validation of the context model on every with-parent Wikipedia comment.

The context card's validation quarter holds 37 toxic replies (ROC-AUC +-0.03), and its base
model, toxicity-minilm, was trained on every toxic with-parent comment read alone, the
quarter's included. This script measures honestly on all 10,000 with-parent comments (151
toxic): a context-free base trained without any of them, then one pair model per fold, each
fine-tuned from that base on the other folds. Every reading of a comment comes from models
that never saw it, so a blend of readings can be chosen by cross-validation.

    python scripts/crossfit_context.py prepare   # fold files under build/crossfit (seconds)
    python scripts/crossfit_context.py train     # base + one pair model per fold (resumable)
    python scripts/crossfit_context.py measure   # readings.csv and the table of blends
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_training_data import SEED, context, read, toxicity

from analyzer.training.data import dedup_key

FOLDS = 4
OUT = Path("build/crossfit")
CKPT = Path("checkpoints/crossfit")
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "labeled" / "toxicity"


def folds(labels: np.ndarray) -> np.ndarray:
    """A stratified fold number for each with-parent comment (seeded)."""
    rng = np.random.default_rng(SEED + 21)
    fold = np.zeros(len(labels), dtype=int)
    for lab in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == lab))
        fold[idx] = np.arange(len(idx)) % FOLDS
    return fold


def prepare(src: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    gc = read(src / "wiki_talk_with_parent_gc.csv")
    tox_train, tox_val = toxicity(src)
    gc_keys = set(gc["text"].map(dedup_key))
    base = tox_train[~tox_train["text"].map(dedup_key).isin(gc_keys)]
    base.to_csv(OUT / "base_train.csv", index=False)
    tox_val.to_csv(OUT / "base_val.csv", index=False)
    print(f"{OUT / 'base_train.csv'}: {len(base)} rows ({len(tox_train) - len(base)} with-parent comments left out)")
    fold = folds(gc["label"].to_numpy())
    pd.DataFrame({"id": gc["id"], "fold": fold, "label": gc["label"].astype(int)}).to_csv(
        OUT / "folds.csv", index=False
    )
    for k in range(FOLDS):
        train, val = context(src, base, tox_val, gc_val=fold == k)
        train.to_csv(OUT / f"fold{k}_train.csv", index=False)
        val.to_csv(OUT / f"fold{k}_val.csv", index=False)
        print(f"fold {k}: {len(train)} training rows, {len(val)} validation ({int(val['toxicity'].sum())} toxic)")


def _run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def train(threads: int) -> None:
    common = ["--epochs", "1", "--batch-size", "32", "--seed", "13", "--patience", "3", "--threads", str(threads)]
    if not (CKPT / "base" / "analyzer.json").exists():
        base = ["--data", str(OUT / "base_train.csv"), "--val-data", str(OUT / "base_val.csv")]
        base += ["--out", str(CKPT / "base"), "--checkpoint-dir", str(CKPT / "base-state")]
        base += ["--lr", "5e-5", "--max-length", "96", "--eval-every", "250"]
        _run(["analyzer", "train", "--task", "toxicity", *base, *common])
    for k in range(FOLDS):
        out = CKPT / f"pair{k}"
        if (out / "analyzer.json").exists():
            continue
        pair = ["--data", str(OUT / f"fold{k}_train.csv"), "--val-data", str(OUT / f"fold{k}_val.csv")]
        pair += ["--base", str(CKPT / "base"), "--out", str(out), "--checkpoint-dir", str(CKPT / f"pair{k}-state")]
        pair += ["--lr", "3e-5", "--max-length", "160", "--eval-every", "100"]
        _run(["analyzer", "train", "--task", "toxicity", "--context", "parent", *pair, *common])


def measure() -> None:
    """Per comment: the pair reading, and the reply and parent read alone, by its fold's pair
    model and by the base; then ROC-AUC of blends, each weight chosen on three folds and
    measured on the fourth."""
    from analyzer.scoring.classifier import Classifier

    rows = []
    base = Classifier.from_pretrained(CKPT / "base", device="cpu")
    for k in range(FOLDS):
        done = OUT / f"readings{k}.csv"
        if done.exists():  # each fold is read once (a fold still training is read later)
            rows.append(pd.read_csv(done))
            continue
        if not (CKPT / f"pair{k}" / "analyzer.json").exists():
            print(f"fold {k}: no pair model yet", flush=True)
            continue
        val = pd.read_csv(OUT / f"fold{k}_val.csv", keep_default_na=False)
        pair_model = Classifier.from_pretrained(CKPT / f"pair{k}", device="cpu")
        pair_model.config.parent_weight = None  # the pair's own reading; the blends come below
        parents, texts = val["parent"].tolist(), val["text"].tolist()

        def read(pairs, model=pair_model):
            return [s["toxicity"] for s, _ in model.score_pairs(pairs, batch_size=64)]

        frame = pd.DataFrame(
            {
                "fold": k,
                "label": val["toxicity"].astype(int),
                "pair": read(list(zip(parents, texts))),
                "pair_reply_alone": read([("", t) for t in texts]),
                "pair_parent_alone": read([("", p) for p in parents]),
                "base_reply": [s["toxicity"] for s in base.predict(texts, batch_size=64)],
                "base_parent": [s["toxicity"] for s in base.predict(parents, batch_size=64)],
            }
        )
        frame.to_csv(done, index=False)
        rows.append(frame)
        print(f"fold {k} read", flush=True)
    readings = pd.concat(rows, ignore_index=True)
    readings.to_csv(OUT / "readings.csv", index=False)
    report(readings)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


BLENDS = {
    "base, reply alone": ("base_reply", None, None),
    "base, reply + w * parent": ("base_reply", "base_parent", None),
    "pair only": ("pair", None, None),
    "pair + w * parent alone": ("pair", "pair_parent_alone", None),
    "pair + w * parent alone + v * reply alone": ("pair", "pair_parent_alone", "pair_reply_alone"),
}
GRID = np.round(np.arange(0, 1.51, 0.125), 3)


def report(readings: pd.DataFrame) -> None:
    from sklearn.metrics import roc_auc_score

    y = readings["label"].to_numpy()
    fold = readings["fold"].to_numpy()

    def blend(cols, w, v):
        main, parent, reply = cols
        z = _logit(readings[main].to_numpy())
        if parent:
            z = z + w * _logit(readings[parent].to_numpy())
        if reply:
            z = z + v * _logit(readings[reply].to_numpy())
        return z

    folds_read = sorted(set(fold))
    print(f"{len(y)} with-parent comments, {int(y.sum())} toxic, folds {folds_read}\n")
    print("| reading | ROC-AUC, weights chosen on the other folds | weights chosen on all (optimistic) |")
    print("|---|---|---|")
    for name, cols in BLENDS.items():
        ws = GRID if cols[1] else [0.0]
        vs = GRID if cols[2] else [0.0]
        grid = [(w, v) for w in ws for v in vs]
        honest = np.zeros(len(y))
        for k in folds_read:
            inside = fold != k if len(folds_read) > 1 else fold == k  # one fold: chosen on itself
            w, v = max(grid, key=lambda g, c=cols, m=inside: roc_auc_score(y[m], blend(c, *g)[m]))
            honest[fold == k] = blend(cols, w, v)[fold == k]
        # pooled out-of-fold scores: the folds' models differ, so also report the mean per fold
        per_fold = np.mean([roc_auc_score(y[fold == k], honest[fold == k]) for k in folds_read])
        best = max(grid, key=lambda g, c=cols: roc_auc_score(y, blend(c, *g)))
        print(
            f"| {name} | {roc_auc_score(y, honest):.3f} pooled, {per_fold:.3f} mean per fold "
            f"| {roc_auc_score(y, blend(cols, *best)):.3f} at w={best[0]}, v={best[1]} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["prepare", "train", "measure", "report"])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.step == "prepare":
        prepare(a.data)
    elif a.step == "train":
        train(a.threads)
    elif a.step == "measure":
        measure()
    else:
        report(pd.read_csv(OUT / "readings.csv"))


if __name__ == "__main__":
    main()
