"""Training both methods for a few steps on slices of the real labeled data: the folder
must reload through the scoring engine and predict what the trainer measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyzer.errors import InputError
from analyzer.training.data import dedup_key, load_labeled, split

LABELED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "labeled"


@pytest.fixture(scope="module")
def toxicity_files(tmp_path_factory) -> tuple[Path, Path]:
    olid = pd.read_csv(
        LABELED / "toxicity" / "olid-training-v1.0.tsv", sep="\t", dtype=str, keep_default_na=False, quoting=3
    )
    rows = pd.DataFrame(
        {
            "text": olid["tweet"],
            "toxicity": (olid["subtask_a"] == "OFF").astype(int),
            "insult": (olid["subtask_b"] == "TIN").astype(int),
        }
    )
    d = tmp_path_factory.mktemp("tox")
    rows.iloc[:160].to_csv(d / "train.csv", index=False)
    val = rows.iloc[160:240].copy()
    val["insult"] = ""  # a label a set does not have stays empty
    val.to_csv(d / "val.csv", index=False)
    return d / "train.csv", d / "val.csv"


@pytest.fixture(scope="module")
def sentiment_files(tmp_path_factory) -> tuple[Path, Path]:
    sem = pd.read_csv(
        LABELED / "sentiment" / "semeval2017_task4a_train_2013_2016.csv", dtype=str, keep_default_na=False
    )
    d = tmp_path_factory.mktemp("sent")
    sem[["text", "label"]].iloc[:160].to_csv(d / "train.csv", index=False)
    sem[["text", "label"]].iloc[160:240].to_csv(d / "val.csv", index=False)
    return d / "train.csv", d / "val.csv"


def _train(task: str, method: str, files: tuple[Path, Path], out: Path):
    from analyzer.training.arguments import TrainingArguments
    from analyzer.training.trainer import Trainer

    args = TrainingArguments(
        task=task,
        method=method,
        max_steps=4,
        batch_size=8,
        eval_every=2,
        max_length=48,
        checkpoint_dir=str(out.parent / f"ckpt-{out.name}"),
    )
    data = load_labeled([files[0]], task)
    val = load_labeled([files[1]], task)
    train_set, val_set = split(data, val, 0.1, args.seed)
    result = Trainer(args, train_set, val_set, progress=False, log=lambda m: None).train(out)
    return result, val_set


@pytest.mark.parametrize(
    "task,method", [("toxicity", "finetune"), ("toxicity", "head"), ("sentiment", "finetune"), ("sentiment", "head")]
)
def test_trained_folder_reloads_and_predicts_identically(task, method, toxicity_files, sentiment_files, tmp_path):
    from analyzer.scoring.classifier import Classifier

    files = toxicity_files if task == "toxicity" else sentiment_files
    result, val_set = _train(task, method, files, tmp_path / "model")
    out = result.out_dir
    for name in ("config.json", "model.safetensors", "analyzer.json", "README.md", "tokenizer.json"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["problem_type"] == (
        "multi_label_classification" if task == "toxicity" else "single_label_classification"
    )
    card = json.loads((out / "analyzer.json").read_text())
    assert set(card["thresholds"]) == set(card["labels"])

    clf = Classifier.from_pretrained(out)
    preds = clf.predict(val_set.texts)
    got = np.array([[p[lab] for lab in val_set.labels] for p in preds])
    np.testing.assert_allclose(got, result.val_probs, atol=1e-4)
    assert "How it was trained" in (out / "README.md").read_text()


def test_retraining_keeps_the_folders_hand_kept_fields(toxicity_files, tmp_path):
    """`make multi` retrains into models/multi-minilm: the default flag and the int8 layers
    kept in float32, set by hand in its analyzer.json, survive the new weights."""
    out = tmp_path / "model"
    out.mkdir()
    kept = ["bert.encoder.layer.0.output.dense"]
    (out / "analyzer.json").write_text(json.dumps({"default": True, "int8_keep_float": kept}))
    _train("toxicity", "finetune", toxicity_files, out)
    meta = json.loads((out / "analyzer.json").read_text())
    assert meta["default"] is True and meta["int8_keep_float"] == kept and "metrics" in meta


def test_training_resumes_from_checkpoint(toxicity_files, tmp_path):
    from analyzer.training.arguments import TrainingArguments
    from analyzer.training.trainer import Trainer

    data = load_labeled([toxicity_files[0]], "toxicity")
    train_set, val_set = split(data, load_labeled([toxicity_files[1]], "toxicity"), 0.1, 13)
    ckpt = tmp_path / "ckpt"
    logs: list[str] = []
    args = TrainingArguments(max_steps=4, batch_size=8, eval_every=2, max_length=32, checkpoint_dir=str(ckpt))
    first = Trainer(args, train_set, val_set, progress=False, log=logs.append).train(tmp_path / "a")
    assert (ckpt / "last.pt").exists()
    again = Trainer(args, train_set, val_set, progress=False, log=logs.append).train(tmp_path / "b")
    assert any("resuming" in m and "step 4/4" in m for m in logs)
    np.testing.assert_allclose(first.val_probs, again.val_probs, atol=1e-6)


def test_validation_never_shares_text_with_training(tmp_path):
    rows = pd.DataFrame(
        {
            "text": ["@USER you are great URL", "hello there", "Hello   there", "a third one", "x y z"],
            "label": ["positive", "neutral", "neutral", "negative", "neutral"],
        }
    )
    rows.to_csv(tmp_path / "d.csv", index=False)
    pd.DataFrame({"text": ["@someone YOU are great"], "label": ["positive"]}).to_csv(tmp_path / "v.csv", index=False)
    train_set, val_set = split(
        load_labeled([tmp_path / "d.csv"], "sentiment"), load_labeled([tmp_path / "v.csv"], "sentiment"), 0.1, 1
    )
    assert len(train_set) == 3  # the duplicate 'hello there' and the tweet in validation are gone
    assert not {dedup_key(t) for t in train_set.texts} & {dedup_key(t) for t in val_set.texts}


def test_bad_label_names_file_and_row(tmp_path):
    (tmp_path / "bad.csv").write_text("text,toxicity\nfine,0\nbad,maybe\n")
    with pytest.raises(InputError, match=r"bad.csv:row 3: label 'toxicity' must be 0, 1 or empty"):
        load_labeled([tmp_path / "bad.csv"], "toxicity")


def test_train_cli_bad_input_is_one_line(tmp_path):
    (tmp_path / "bad.csv").write_text("words\nhello\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analyzer",
            "train",
            "--task",
            "sentiment",
            "--data",
            str(tmp_path / "bad.csv"),
            "--out",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'bad.csv'}: no text column 'text' (columns: words)"
    ]
    assert not (tmp_path / "m").exists()
