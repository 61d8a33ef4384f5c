"""Build the training and validation files for the default models from ../shared/data/labeled.

Writes build/data/{toxicity,sentiment}_{train,val}.csv in the format ``analyzer train`` reads
(text + 0/1/empty label columns for toxicity; text + label for sentiment). Label mapping and
sampling are documented here and in the model cards; the seed makes it reproducible.

    python scripts/prepare_training_data.py [--data ../shared/data/labeled] [--out build/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from analyzer.training.data import dedup_key

SEED = 13


def read(path: Path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, **kw)


def toxicity(src: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """OLID A/B/C, HatEval, Davidson and Wikipedia talk mapped onto toxicity/insult/identity_attack."""
    rng = np.random.default_rng(SEED)
    olid = read(src / "olid-training-v1.0.tsv", sep="\t", quoting=3)
    olid = pd.DataFrame(
        {
            "text": olid["tweet"],
            "toxicity": (olid["subtask_a"] == "OFF").astype(float),
            # TIN = targeted insult or threat; NOT and UNT (untargeted profanity) are not insults
            "insult": (olid["subtask_b"] == "TIN").astype(float),
            # GRP = the target is a group (identity); IND/OTH/UNT/NOT are not identity attacks
            "identity_attack": (olid["subtask_c"] == "GRP").astype(float),
        }
    )
    # TweetEval's offensive split of the same tweets decides which OLID rows validate.
    te = read(src / "tweeteval_offensive_train_val.csv")
    te_val = {dedup_key(t) for t in te.loc[te["split"] == "val", "text"]}
    olid_is_val = olid["text"].map(dedup_key).isin(te_val)

    hate = read(src / "tweeteval_hate_train_val.csv")
    is_hate = hate["label"] == "1"
    hate_rows = pd.DataFrame(
        {
            "text": hate["text"],
            # hate speech is toxic; a non-hate tweet may still be offensive, so toxicity stays unknown
            "toxicity": np.where(is_hate, 1.0, np.nan),
            "insult": np.nan,
            "identity_attack": is_hate.astype(float),
        }
    )
    hate_is_val = hate["split"] == "val"

    dav = read(src / "davidson_labeled_data.csv")
    cls = dav["class"].astype(int)
    dav_rows = pd.DataFrame(
        {
            "text": dav["tweet"],
            "toxicity": (cls != 2).astype(float),
            "insult": np.nan,
            "identity_attack": (cls == 0).astype(float),
        }
    )
    # 'offensive' dominates (77%): keep 5,000 of them, all hate and all neither
    offensive = np.flatnonzero(cls.to_numpy() == 1)
    drop = rng.choice(offensive, len(offensive) - 5000, replace=False)
    dav_rows = dav_rows.drop(index=drop).reset_index(drop=True)
    dav_is_val = pd.Series(rng.random(len(dav_rows)) < 0.1)

    wiki_parts = []
    for name, n_clean in (("wiki_talk_with_parent_gc.csv", 3000), ("wiki_talk_no_parent_gn.csv", 1500)):
        w = read(src / name)
        tox = w["label"] == "1"
        keep = np.concatenate([np.flatnonzero(tox), rng.choice(np.flatnonzero(~tox), n_clean, replace=False)])
        w = w.iloc[np.sort(keep)]
        wiki_parts.append(
            pd.DataFrame(
                {
                    "text": w["text"],
                    "toxicity": (w["label"] == "1").astype(float),
                    "insult": np.nan,
                    "identity_attack": np.nan,
                }
            )
        )
    train = pd.concat([olid[~olid_is_val], hate_rows[~hate_is_val], dav_rows[~dav_is_val], wiki_parts[0]])
    val = pd.concat([olid[olid_is_val], hate_rows[hate_is_val], dav_rows[dav_is_val], wiki_parts[1]])
    return train, val


def sentiment(src: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SemEval 2013-2016 for training; TweetEval's validation tweets (removed from training) to validate."""
    train = read(src / "semeval2017_task4a_train_2013_2016.csv")[["text", "label"]]
    val = read(src / "tweeteval_sentiment_val.csv")[["text", "label_name"]].rename(columns={"label_name": "label"})
    return train, val


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "labeled"
    )
    ap.add_argument("--out", type=Path, default=Path("build/data"))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for task, fn, sub in (("toxicity", toxicity, "toxicity"), ("sentiment", sentiment, "sentiment")):
        train, val = fn(a.data / sub)
        for split_name, frame in (("train", train), ("val", val)):
            path = a.out / f"{task}_{split_name}.csv"
            frame.to_csv(path, index=False)
            print(f"{path}: {len(frame)} rows")


if __name__ == "__main__":
    main()
