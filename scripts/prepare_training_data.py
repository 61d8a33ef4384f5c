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


def _toxigen(src: Path, rng: np.random.Generator) -> pd.DataFrame:
    """ToxiGen's human ratings: mean >= 4 is hate against the group (toxic and an identity
    attack), <= 2 is benign; the unsure middle is left out. Text is stored as b'...' literals."""
    tg = read(src / "toxigen_annotated_train.csv")
    text = tg["text"].str.replace(r"^b['\"](.*)['\"]$", r"\1", regex=True).str.replace(r"\\n", " ", regex=True)
    score = tg["toxicity_human"].astype(float)
    keep = (score >= 4) | (score <= 2)
    toxic = (score >= 4).astype(float)
    return pd.DataFrame({"text": text, "toxicity": toxic, "insult": np.nan, "identity_attack": toxic})[keep]


def _polarity(frame: pd.DataFrame, text: str, label: str, source: str) -> pd.DataFrame:
    return pd.DataFrame({"text": frame[text], "source": source, "polarity": frame[label].astype(int).astype(float)})


def _obfuscated(rows: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Obfuscated copies of ``rows`` (spacing, leetspeak, typos, homoglyphs) with their labels."""
    import random

    from analyzer.training.augment import obfuscate

    rng = random.Random(seed)
    picked = rows.sample(n=min(n, len(rows)), random_state=seed)
    variants, styles = zip(*(obfuscate(t, rng) for t in picked["text"]))
    out = picked.copy()
    out["plain"] = picked["text"]
    out["text"] = list(variants)
    out["source"] = [f"obfuscated-{s}" for s in styles]
    return out[out["text"] != out["plain"]]


def _phenomena(split: str, n: int) -> pd.DataFrame:
    from analyzer.training.phenomena import sample as phenomena_sample

    ex = phenomena_sample(split, n, SEED)
    return pd.DataFrame(
        {
            "text": [e.text for e in ex],
            "source": [f"phenomena-{e.phenomenon}" for e in ex],
            "toxicity": [float(e.toxic) for e in ex],
            "insult": np.nan,
            "identity_attack": [float(e.toxic) for e in ex],
        }
    )


def multi(
    src: Path, sentiment_rows: int | None = None, sst_rows: int = 10000
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One table for the multi-head model: toxicity columns (0/1/empty), ``sentiment``
    (negative/neutral/positive or empty), ``polarity`` (0 negative / 1 positive, for review
    sets that have no neutral class), and ``source`` for per-source metrics. Returns
    (train, validation, phenomena validation)."""
    rng = np.random.default_rng(SEED)
    tox_train, tox_val = toxicity(src / "toxicity")
    tox_train["source"], tox_val["source"] = "toxicity-tweets-wiki", "toxicity-tweets-wiki"
    tg = _toxigen(src / "toxicity", rng)
    tg["source"] = "toxigen"
    tg_val = rng.random(len(tg)) < 0.1

    sem_train, sem_val = sentiment(src / "sentiment")
    if sentiment_rows is not None:  # all SemEval rows by default: fewer cost sentiment recall
        sem_train = sem_train.sample(n=min(sentiment_rows, len(sem_train)), random_state=SEED)
    sem_train = pd.DataFrame({"text": sem_train["text"], "sentiment": sem_train["label"], "source": "semeval-tweets"})
    sem_val = pd.DataFrame({"text": sem_val["text"], "sentiment": sem_val["label"], "source": "semeval-tweets"})

    sst = read(src / "sentiment" / "sst2_train_phrases.tsv", sep="\t", quoting=3)
    sst = sst[sst["sentence"].str.split().str.len() >= 6].sample(n=sst_rows, random_state=SEED)
    sst_dev = read(src / "sentiment" / "sst2_dev_phrases.tsv", sep="\t", quoting=3)
    sst_dev = sst_dev[sst_dev["sentence"].str.split().str.len() >= 6].sample(n=1500, random_state=SEED)
    uci = pd.concat(
        [
            read(p, sep="\t", header=None, names=["text", "label"], quoting=3)
            for p in sorted((src / "sentiment" / "uci").glob("*_labelled.txt"))
        ]
    )
    uci["text"] = uci["text"].str.strip()
    uci_val = rng.random(len(uci)) < 0.15

    toxic_train = tox_train[(tox_train["toxicity"] == 1) | (tox_train["insult"] == 1)]
    clean_train = tox_train[tox_train["toxicity"] == 0]
    toxic_val = tox_val[(tox_val["toxicity"] == 1) | (tox_val["insult"] == 1)]
    train = pd.concat(
        [
            tox_train,
            tg[~tg_val],
            sem_train,
            _polarity(sst, "sentence", "label", "sst2-phrases"),
            _polarity(uci[~uci_val], "text", "label", "uci-reviews"),
            _obfuscated(toxic_train, 4000, SEED).drop(columns="plain"),
            _obfuscated(clean_train, 1500, SEED + 1).drop(columns="plain"),
            _phenomena("train", 1500),
        ],
        ignore_index=True,
    )
    val = pd.concat(
        [
            tox_val,
            tg[tg_val],
            sem_val,
            _polarity(sst_dev, "sentence", "label", "sst2-phrases"),
            _polarity(uci[uci_val], "text", "label", "uci-reviews"),
        ],
        ignore_index=True,
    )
    phen = pd.concat([_obfuscated(toxic_val, 600, SEED + 2), _phenomena("val", 800)], ignore_index=True)
    columns = ["text", "source", "toxicity", "insult", "identity_attack", "sentiment", "polarity"]
    return (train.reindex(columns=columns), val.reindex(columns=columns), phen.reindex(columns=[*columns, "plain"]))


# Short replies whose meaning is the parent's: alone they are harmless, under a hateful or
# insulting parent they endorse it. Written for this project; used to build synthetic pairs.
ENDORSEMENTS = [
    "Exactly.",
    "This. So much this.",
    "Couldn't agree more.",
    "Well said.",
    "100% true.",
    "Yes, finally someone says it.",
    "Agreed, every word.",
    "So true, they really are.",
    "You're absolutely right.",
    "Exactly, they should all be sent back.",
    "Took the words right out of my mouth.",
    "Facts.",
    "Amen to that.",
    "Best comment here.",
    "Nailed it.",
    "Truer words were never spoken.",
    "Same thing I always say.",
    "Yep, that's them alright.",
    "Spot on, as usual.",
    "Someone had to say it.",
    "+1, totally agree",
    "lol so true",
    "Ha, perfect description.",
    "This should be the top comment.",
    "I second that.",
    "Yes! Thank you for saying it.",
    "Don't forget the rest of them too.",
    "And they wonder why nobody likes them.",
    "Couldn't have put it better myself.",
    "Preach.",
]
# Held out: other wordings, for validation only (does the model learn endorsement, or the list?).
ENDORSEMENTS_VAL = [
    "Absolutely right.",
    "Yes, this exactly.",
    "Word.",
    "Could not have said it better.",
    "Totally, every single one of them.",
    "So glad someone finally said this",
    "Agree 100%",
    "True story.",
    "Right on.",
    "Bingo.",
    "Yup, typical.",
    "My thoughts exactly.",
]
# Replies that push back: under a hateful parent they are not toxic.
PUSHBACKS = [
    "That's a hateful thing to say.",
    "Please don't talk about people like that.",
    "Source? That sounds like prejudice.",
    "No, that's not fair to anyone.",
    "Let's keep this civil, please.",
    "I disagree, that's a stereotype.",
    "Not cool. Everyone deserves respect here.",
    "Please read the civility policy before posting again.",
    "That's simply not true, and it's hurtful.",
    "Can we get back to discussing the article?",
]


def _tail(text: str, share: float) -> str:
    words = text.split()
    return " ".join(words[len(words) - max(1, round(len(words) * share)) :])


def context(
    src: Path, tox_train: pd.DataFrame, tox_val: pd.DataFrame, gc_val: np.ndarray | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(parent, text) pairs for the context model.

    Train: three quarters of the Wikipedia talk comments labeled *with* their parent shown
    (stratified, seeded); the comments labeled without context (empty parent); a sample of
    the context-free toxicity rows (empty parent, no Wikipedia rows); and synthetic pairs
    that only the parent can decide: an endorsement under a hateful or insulting parent is
    toxic, the same reply under a benign parent is not, a push-back under a hateful parent
    is not, and a toxic reply stays toxic under a benign parent.
    Validation: the other quarter of the with-parent set (or the rows ``gc_val`` marks: the
    folds of ``scripts/crossfit_context.py``)."""
    rng = np.random.default_rng(SEED + 7)
    gc = read(src / "wiki_talk_with_parent_gc.csv")
    gn = read(src / "wiki_talk_no_parent_gn.csv")
    quarter = np.zeros(len(gc), dtype=bool)  # drawn always: the seeded draws after it stay the same
    for lab in ("0", "1"):
        idx = np.flatnonzero(gc["label"].to_numpy() == lab)
        quarter[rng.choice(idx, len(idx) // 4, replace=False)] = True
    gc_val = quarter if gc_val is None else gc_val

    def rows(frame: pd.DataFrame, parent, source: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "text": frame["text"].to_numpy(),
                "parent": parent if isinstance(parent, str) else np.asarray(parent),
                "source": source,
                "toxicity": (frame["label"] == "1").astype(float).to_numpy(),
                "insult": np.nan,
                "identity_attack": np.nan,
            }
        )

    gc_toxic = gc[~gc_val & (gc["label"] == "1")]
    wiki = {dedup_key(t) for t in pd.concat([gc["text"], gn["text"]])}
    # every toxic comment labeled without context, and 3,000 of the clean ones
    gn_clean = np.flatnonzero(gn["label"].to_numpy() == "0")
    gn_kept = gn.drop(index=gn.index[rng.choice(gn_clean, len(gn_clean) - 3000, replace=False)])
    plain = tox_train[~tox_train["text"].map(dedup_key).isin(wiki)]
    plain = plain.sample(n=min(8000, len(plain)), random_state=SEED).assign(parent="", source="context-free")

    hateful = tox_train[(tox_train["identity_attack"] == 1) | (tox_train["insult"] == 1)]
    hateful = hateful[~hateful["text"].map(dedup_key).isin(wiki)]
    toxic = tox_train[tox_train["toxicity"] == 1]
    benign = gn[gn["label"] == "0"]["text"].tolist() + tox_train[tox_train["toxicity"] == 0]["text"].tolist()
    n = 1500

    def pick(seq, k):
        seq = list(seq)
        return [seq[i] for i in rng.integers(0, len(seq), k)]

    def synthetic(parents, replies, label, source):
        return pd.DataFrame(
            {
                "text": replies,
                "parent": parents,
                "source": source,
                "toxicity": float(label),
                "insult": np.nan,
                "identity_attack": np.nan,
            }
        )

    synth = pd.concat(
        [
            synthetic(pick(hateful["text"], n), pick(ENDORSEMENTS, n), 1, "synthetic-endorses-hateful"),
            synthetic(pick(benign, n), pick(ENDORSEMENTS, n), 0, "synthetic-endorses-benign"),
            synthetic(pick(hateful["text"], n // 5), pick(PUSHBACKS, n // 5), 0, "synthetic-pushback"),
            synthetic(
                pick(benign, n // 2), pick(gn[gn["label"] == "0"]["text"], n // 2), 0, "synthetic-benign-under-benign"
            ),
            synthetic(pick(benign, n), pick(toxic["text"], n), 1, "synthetic-toxic-under-benign"),
        ]
    )
    train = pd.concat(
        [
            rows(gc[~gc_val], gc.loc[~gc_val, "parent"], "wiki-with-parent"),
            # the few comments judged toxic in context, five more times each, with the parent
            # cut to its last 80/60/40/20/10% of words (distinct pairs; a reply answers the end
            # of its parent): 113 among 24,000 rows otherwise teach little about context
            *[
                rows(gc_toxic, [_tail(p, share) for p in gc_toxic["parent"]], "wiki-with-parent-toxic-tail")
                for share in (0.8, 0.6, 0.4, 0.2, 0.1)
            ],
            rows(gn_kept, "", "wiki-no-parent"),
            plain,
            synth,
        ],
        ignore_index=True,
    )
    # validation (and model selection) on what the model is for: labels given with the parent
    val = rows(gc[gc_val], gc.loc[gc_val, "parent"], "wiki-with-parent")
    columns = ["text", "parent", "source", "toxicity", "insult", "identity_attack"]
    return train.reindex(columns=columns), val.reindex(columns=columns)


def context_probe(tox_val: pd.DataFrame, n: int = 400) -> pd.DataFrame:
    """A validation set only context can decide: held-out endorsements (wordings never
    trained on) under held-out hateful parents (toxic) and under held-out benign parents (not
    toxic). The reply is the same in both, so a model reading it alone scores both alike."""
    rng = np.random.default_rng(SEED + 11)
    hateful = tox_val[(tox_val["identity_attack"] == 1) | (tox_val["insult"] == 1)]["text"].tolist()
    benign = tox_val[tox_val["toxicity"] == 0]["text"].tolist()
    replies = [ENDORSEMENTS_VAL[i] for i in rng.integers(0, len(ENDORSEMENTS_VAL), n)]
    return pd.DataFrame(
        {
            "text": replies + replies,
            "parent": [hateful[i] for i in rng.integers(0, len(hateful), n)]
            + [benign[i] for i in rng.integers(0, len(benign), n)],
            "source": ["endorses-hateful"] * n + ["endorses-benign"] * n,
            "toxicity": [1.0] * n + [0.0] * n,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "labeled"
    )
    ap.add_argument("--out", type=Path, default=Path("build/data"))
    ap.add_argument(
        "--sentiment-rows", type=int, default=None, help="cap the SemEval rows in the multi table (default: all)"
    )
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for task, fn, sub in (("toxicity", toxicity, "toxicity"), ("sentiment", sentiment, "sentiment")):
        train, val = fn(a.data / sub)
        for split_name, frame in (("train", train), ("val", val)):
            path = a.out / f"{task}_{split_name}.csv"
            frame.to_csv(path, index=False)
            print(f"{path}: {len(frame)} rows")
    for split_name, frame in zip(("train", "val", "phenomena_val"), multi(a.data, a.sentiment_rows)):
        path = a.out / f"multi_{split_name}.csv"
        frame.to_csv(path, index=False)
        print(f"{path}: {len(frame)} rows; by source: {frame['source'].value_counts().to_dict()}")
    tox_train, tox_val = toxicity(a.data / "toxicity")
    for split_name, frame in zip(
        ("train", "val", "probe_val"), (*context(a.data / "toxicity", tox_train, tox_val), context_probe(tox_val))
    ):
        path = a.out / f"context_{split_name}.csv"
        frame.to_csv(path, index=False)
        print(f"{path}: {len(frame)} rows; by source: {frame['source'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
