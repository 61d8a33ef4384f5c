"""Labeled data for ``analyzer train`` and ``analyzer evaluate``: read, check, deduplicate, split.

A file is CSV or JSON Lines with a text column and label columns. Toxicity files carry one
0/1 column per canonical label (empty where a row has no such label, so sets with different
label sets combine); sentiment files carry one ``label`` column (negative/neutral/positive,
or 0/1/2 in that order).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analyzer.errors import InputError
from analyzer.scoring.config import LabelGroup

TOXICITY_LABELS = ["toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "sexual_explicit"]
SENTIMENT_LABELS = ["negative", "neutral", "positive"]
# The multi-head model: toxicity attributes (sigmoids) and sentiment (one softmax) over one encoder.
MULTI_TOXICITY = ["toxicity", "insult", "identity_attack"]
MULTI_GROUPS = [
    LabelGroup("toxicity", tuple(MULTI_TOXICITY), "sigmoid"),
    LabelGroup("sentiment", tuple(SENTIMENT_LABELS), "softmax"),
]

_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|\bURL\b")
_SPACE = re.compile(r"\s+")


def dedup_key(text: str) -> str:
    """Key under which two tweets count as the same text (several sets share tweets with
    different mention/URL placeholders and case)."""
    t = unicodedata.normalize("NFKC", text)
    t = _URL.sub(" ", _MENTION.sub(" ", t)).lower()
    t = _SPACE.sub(" ", t).strip()
    return hashlib.sha1(t.encode("utf-8")).hexdigest()


@dataclass
class LabeledData:
    """Texts and a label matrix: float with NaN for 'not labeled' (multi-label),
    or int class ids (single-label)."""

    texts: list[str]
    y: np.ndarray
    labels: list[str]
    multi_label: bool
    # Label groups of a multi-head set (y is then a float matrix with NaN where a row says
    # nothing; a softmax group's row is one-hot over the classes it knows, NaN elsewhere).
    groups: list[LabelGroup] = field(default_factory=list)
    sources: list[str] | None = None  # where each row came from (per-source metrics)
    parents: list[str] | None = None  # the parent comment of each row ("" for none): context models

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: np.ndarray) -> LabeledData:
        sources = [self.sources[i] for i in idx] if self.sources is not None else None
        parents = [self.parents[i] for i in idx] if self.parents is not None else None
        return LabeledData(
            [self.texts[i] for i in idx], self.y[idx], self.labels, self.multi_label, self.groups, sources, parents
        )

    def align(self, labels: list[str]) -> LabeledData:
        """The same rows with columns for ``labels`` (NaN where this data has no such label)."""
        if not self.multi_label or labels == self.labels:
            return self
        cols = [
            self.y[:, self.labels.index(lab)] if lab in self.labels else np.full(len(self), np.nan) for lab in labels
        ]
        return LabeledData(self.texts, np.stack(cols, axis=1), labels, True, self.groups, self.sources, self.parents)

    def keys(self) -> list[str]:
        """``dedup_key`` of each row; with parents, of the (parent, text) pair: the same reply
        under two parents is two examples."""
        if self.parents is None:
            return [dedup_key(t) for t in self.texts]
        return [dedup_key(p + "\x00" + t) for p, t in zip(self.parents, self.texts)]

    def counts(self) -> dict[str, dict[str, int]]:
        """Positives and labeled rows per label (for the model card)."""
        if self.multi_label:
            return {
                lab: {"labeled": int((~np.isnan(self.y[:, j])).sum()), "positive": int(np.nansum(self.y[:, j]))}
                for j, lab in enumerate(self.labels)
            }
        return {lab: {"rows": int((self.y == j).sum())} for j, lab in enumerate(self.labels)}


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, TSV or JSON Lines file as strings, keeping 'NA'/'null' tweets as text."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", source=str(p))
    try:
        if p.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
            df = pd.read_json(p, lines=True, dtype=False)
            df = df.astype(object).where(df.notna(), "")
        else:
            sep = "\t" if p.suffix.lower() == ".tsv" else ","
            df = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=str(p)) from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read as a table: {str(exc).splitlines()[0]}", source=str(p)) from None
    if df.empty:
        raise InputError("no rows", source=str(p))
    return df


def load_labeled(
    paths: list[str | Path],
    task: str,
    *,
    text_column: str = "text",
    label_columns: list[str] | None = None,
    group_column: str | None = None,
    parent_column: str | None = None,
) -> LabeledData:
    """Read and combine labeled files for ``task``; every error names the file and row.
    ``group_column`` is kept per row in ``sources`` (for per-group metrics)."""
    if task == "multi":
        return _load_multi(paths, text_column, group_column)
    frames = []
    multi = task == "toxicity"
    for path in paths:
        df = read_table(path)
        if text_column not in df.columns:
            raise InputError(
                f"no text column {text_column!r} (columns: {', '.join(map(str, df.columns))})", source=str(path)
            )
        texts = df[text_column].astype(str)
        if group_column is not None and group_column not in df.columns:
            raise InputError(
                f"no column {group_column!r} to group by (columns: {', '.join(map(str, df.columns))})",
                source=str(path),
            )
        parent = None
        if parent_column is not None:  # a file without the column: rows without a parent
            parent = (
                df[parent_column].fillna("").astype(str) if parent_column in df.columns else pd.Series([""] * len(df))
            )
        if multi:
            cols = label_columns or [c for c in TOXICITY_LABELS if c in df.columns]
            if not cols:
                raise InputError(
                    f"no label columns; expected some of {', '.join(TOXICITY_LABELS)} or --label-columns",
                    source=str(path),
                )
            out = pd.DataFrame({"text": texts})
            for c in cols:
                if c not in df.columns:
                    raise InputError(f"no label column {c!r}", source=str(path))
                out[c] = _binary_column(df[c], path, c)
        else:
            col = (label_columns or ["label"])[0]
            if col not in df.columns:
                raise InputError(f"no label column {col!r}", source=str(path))
            out = pd.DataFrame({"text": texts, "label": _class_column(df[col], path, col)})
        if group_column is not None:
            out["_group"] = df[group_column].astype(str).to_numpy()
        if parent is not None:
            out["_parent"] = parent.to_numpy()
        frames.append(out)
    data = pd.concat(frames, ignore_index=True)
    data = data[data["text"].str.strip() != ""]
    groups = data.pop("_group").tolist() if "_group" in data.columns else None
    parents = data.pop("_parent").tolist() if "_parent" in data.columns else None
    if multi:
        labels = [c for c in TOXICITY_LABELS if c in data.columns] + [
            c for c in data.columns if c not in TOXICITY_LABELS and c != "text"
        ]
        y = data[labels].to_numpy(dtype=float)
    else:
        labels = SENTIMENT_LABELS
        y = data["label"].to_numpy(dtype=int)
    return LabeledData(data["text"].tolist(), y, labels, multi, sources=groups, parents=parents)


def _load_multi(paths: list[str | Path], text_column: str, group_column: str | None = None) -> LabeledData:
    """Files with any of: toxicity 0/1 columns, ``sentiment`` (negative/neutral/positive),
    ``polarity`` (0/1: negative/positive only, for review sets without a neutral class)."""
    frames = []
    for path in paths:
        df = read_table(path)
        if text_column not in df.columns:
            raise InputError(f"no text column {text_column!r}", source=str(path))
        cols = [c for c in (*MULTI_TOXICITY, "sentiment", "polarity") if c in df.columns]
        if not cols:
            raise InputError(
                f"no label columns; expected some of {', '.join(MULTI_TOXICITY)}, sentiment, polarity", source=str(path)
            )
        y = np.full((len(df), len(MULTI_TOXICITY) + 3), np.nan)
        for j, c in enumerate(MULTI_TOXICITY):
            if c in df.columns:
                y[:, j] = _binary_column(df[c], path, c).to_numpy(dtype=float)
        sentiment_part = y[:, len(MULTI_TOXICITY) :]
        if "sentiment" in df.columns:
            known = df["sentiment"].astype(str).str.strip() != ""
            cls = _class_column(df["sentiment"].where(known, "neutral"), path, "sentiment").to_numpy()
            rows = np.flatnonzero(known.to_numpy())
            sentiment_part[rows] = np.eye(3)[cls[rows]]
        if "polarity" in df.columns:
            pol = _binary_column(df["polarity"], path, "polarity").to_numpy(dtype=float)
            rows = np.flatnonzero(~np.isnan(pol))
            sentiment_part[rows, 0] = 1.0 - pol[rows]
            sentiment_part[rows, 2] = pol[rows]
        by = group_column or "source"
        if group_column is not None and group_column not in df.columns:
            raise InputError(f"no column {group_column!r} to group by", source=str(path))
        source = df[by].astype(str).tolist() if by in df.columns else [Path(path).stem] * len(df)
        frames.append((df[text_column].astype(str).tolist(), y, source))
    texts = [t for f in frames for t in f[0]]
    y = np.concatenate([f[1] for f in frames])
    sources = [s for f in frames for s in f[2]]
    keep = np.array([bool(t.strip()) for t in texts], dtype=bool)
    labels = MULTI_TOXICITY + SENTIMENT_LABELS
    data = LabeledData(texts, y, labels, True, list(MULTI_GROUPS), sources)
    return data.subset(np.flatnonzero(keep))


def _binary_column(col: pd.Series, path: str | Path, name: str) -> pd.Series:
    mapping = {"": np.nan, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "true": 1.0, "false": 0.0}
    values = col.astype(str).str.strip().str.lower()
    bad = ~values.isin(mapping.keys())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"label {name!r} must be 0, 1 or empty, got {col.iloc[row]!r}", source=str(path), where=f"row {row + 2}"
        )
    return values.map(mapping)


def _class_column(col: pd.Series, path: str | Path, name: str) -> pd.Series:
    mapping = {lab: i for i, lab in enumerate(SENTIMENT_LABELS)} | {str(i): i for i in range(3)}
    mapping |= {"neg": 0, "pos": 2, "-1": 0}
    values = col.astype(str).str.strip().str.lower()
    bad = ~values.isin(mapping.keys())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"label {name!r} must be negative/neutral/positive (or 0/1/2), got {col.iloc[row]!r}",
            source=str(path),
            where=f"row {row + 2}",
        )
    return values.map(mapping)


def deduplicate(data: LabeledData) -> LabeledData:
    """Drop repeated texts (by ``dedup_key``); for multi-label rows, merge label columns so a
    tweet labeled in two sets keeps both labels (max where both say something)."""
    keys = data.keys()
    if not data.multi_label:
        _, first = np.unique(np.array(keys), return_index=True)
        return data.subset(np.sort(first))
    frame = pd.DataFrame(data.y, columns=data.labels)
    frame["_key"] = keys
    frame["_order"] = np.arange(len(keys))
    merged = frame.groupby("_key", sort=False).agg({**{c: "max" for c in data.labels}, "_order": "min"})
    merged = merged.sort_values("_order")
    order = merged["_order"].to_numpy()
    texts = [data.texts[i] for i in order]
    sources = [data.sources[i] for i in order] if data.sources is not None else None
    parents = [data.parents[i] for i in order] if data.parents is not None else None
    y = merged[data.labels].to_numpy(dtype=float)
    return LabeledData(texts, y, data.labels, True, data.groups, sources, parents)


def split(
    data: LabeledData, val: LabeledData | None, val_fraction: float, seed: int
) -> tuple[LabeledData, LabeledData]:
    """Training and validation sets with no normalized text in both."""
    data = deduplicate(data)
    if val is None:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(data))
        n_val = max(1, round(len(data) * val_fraction))
        return data.subset(np.sort(order[n_val:])), data.subset(np.sort(order[:n_val]))
    val = deduplicate(val.align(data.labels))
    val_keys = set(val.keys())
    keep = np.array([i for i, k in enumerate(data.keys()) if k not in val_keys], dtype=int)
    return data.subset(keep), val
