"""The model card (``README.md`` beside the weights), written from ``analyzer.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABEL_MEANINGS = {
    "toxicity": "rude, disrespectful or offensive language (OLID 'OFF', Davidson hate or offensive, HatEval hate, Wikipedia talk 'toxic')",
    "insult": "an insult or threat aimed at a person or group (OLID level B 'TIN')",
    "identity_attack": "hate or an attack aimed at a group defined by identity (OLID level C 'GRP', HatEval hate, Davidson hate)",
    "negative": "negative sentiment",
    "neutral": "neither negative nor positive",
    "positive": "positive sentiment",
}

# How the default models' files are made (scripts/prepare_training_data.py, `make data`).
DATA_SOURCES = {
    "toxicity": [
        "OLID / OffensEval 2019 training tweets: `toxicity` = level A OFF, `insult` = level B TIN "
        "(targeted insult or threat), `identity_attack` = level C GRP; TweetEval's offensive val split "
        "decides which OLID tweets validate.",
        "TweetEval hate (SemEval-2019 HatEval): hate → `toxicity` 1 and `identity_attack` 1; non-hate → "
        "`identity_attack` 0, `toxicity` unknown (it may still be offensive). Its own val split validates.",
        "Davidson et al. 2017: hate or offensive → `toxicity`; hate → `identity_attack`; all hate and "
        "neither tweets plus 5,000 of the 19,190 offensive ones; 10% held out for validation.",
        "Wikipedia talk comments (Pavlopoulos et al. 2020): all toxic and 3,000 non-toxic with-parent "
        "comments train; all toxic and 1,500 non-toxic no-parent comments validate.",
        "A row leaves a label empty when its set says nothing about it; the loss ignores empty labels.",
    ],
    "sentiment": [
        "SemEval 2017 Task 4A training tweets 2013-2016 (negative/neutral/positive) train; TweetEval's "
        "sentiment val split (2,000 tweets) validates; tweets in both were removed from training.",
    ],
}

DATA_SOURCES["multi"] = [
    *DATA_SOURCES["toxicity"],
    "ToxiGen human ratings (annotated train split): mean >= 4 → `toxicity` and `identity_attack` 1, <= 2 → 0, "
    "the unsure middle left out; 10% held out.",
    "24,000 of the SemEval 2013-2016 sentiment tweets train, TweetEval's sentiment val validates (as before).",
    "10,000 SST-2 training phrases of 6+ words and 85% of the UCI review sentences as `polarity` (negative or "
    "positive, no neutral: the softmax loss covers only those two classes); SST-2 dev phrases and the other 15% "
    "of UCI validate.",
    "Obfuscated copies (spacing, leetspeak, typos, homoglyphs; `analyzer/training/augment.py`) of 4,000 toxic and "
    "1,500 clean training rows, with their labels.",
    "Our own identity sentences (`analyzer/training/phenomena.py`: neutral and positive mentions, negated "
    "positives, implicit derogation, counter-speech quoting hate), train frames and groups disjoint from "
    "the validation ones.",
]

LIMITS = {
    "toxicity": [
        "Trained on English tweets and Wikipedia talk comments; other languages and registers are out of scope.",
        "Offensive vs. hateful is partly lexical in the Davidson set: swearing without a target can score high, "
        "and coded or polite hate can score low.",
        "Identity terms appear far more often in abusive training tweets than in benign ones; check the identity-term "
        "bias report of `analyzer evaluate` before relying on `identity_attack`.",
        "HatEval only covers hate against immigrants and women.",
    ],
    "sentiment": [
        "Trained on English tweets (SemEval 2013-2016); long or formal text, sarcasm and irony are weak points.",
        "Tweets about the topics of 2013-2016; drift on newer topics is likely.",
    ],
}
LIMITS["multi"] = [*LIMITS["toxicity"], *LIMITS["sentiment"]]


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def write_card(out: Path, config: dict[str, Any]) -> Path:
    """Write the card; metrics and the training command come from ``config`` so they never drift."""
    t = config["training"]
    m = config["metrics"]
    task = config["task"]
    lines = [
        f"# {config['name']}",
        "",
        f"A {task} classifier for comments, trained by Thread Analyzer (`analyzer train`).",
        "",
        f"- **Base model**: {config['base_model']}",
        f"- **Method**: {t['method']} ({'full fine-tuning with a classification head' if t['method'] == 'finetune' else 'frozen encoder + logistic regression head'})",
        f"- **Problem type**: {_problem_type(config)}",
        f"- **Max length**: {config['max_length']} tokens (longer comments are scored in overlapping windows by the engine)",
        "",
        "## Labels",
        "",
        "| label | meaning | threshold |",
        "|---|---|---|",
    ]
    for lab in config["labels"]:
        lines.append(f"| `{lab}` | {LABEL_MEANINGS.get(lab, '')} | {_fmt(config['thresholds'].get(lab))} |")
    lines += ["", "Thresholds maximise F1 on the validation split (toxicity); sentiment uses the arg-max.", ""]
    lines += [
        "## Data",
        "",
        f"Training rows: {t['train_rows']}, validation rows: {t['val_rows']} "
        "(validation deduplicated against training by normalized text).",
        "",
    ]
    for f in t["data_files"]:
        lines.append(f"- `{f}`")
    if DATA_SOURCES.get(task) and any("build/data" in f for f in t["data_files"]):
        lines += [
            "",
            "These files are built from `../shared/data/labeled` by `make data` "
            "(`scripts/prepare_training_data.py`), seeded:",
            "",
        ]
        lines += [f"- {x}" for x in DATA_SOURCES[task]]
    lines += ["", "| label | train | validation |", "|---|---|---|"]
    for lab in config["labels"]:
        lines.append(
            f"| `{lab}` | {_counts(t['train_label_counts'].get(lab))} | {_counts(t['val_label_counts'].get(lab))} |"
        )
    lines += ["", "## Validation metrics", "", *_metrics_lines(task, m)]
    lines += ["", "`analyzer evaluate --model DIR --data VALIDATION --task " + task + "` reproduces these numbers.", ""]
    lines += ["## Known limits and biases", ""] + [f"- {x}" for x in LIMITS.get(task, []) + config.get("notes", [])]
    lines += [
        "",
        "## How it was trained",
        "",
        "`make " + task + "` runs exactly:",
        "",
        "```",
        *([t["stage1"]["command"]] if t.get("stage1") else []),  # a run continued from a first one
        t["command"],
        "```",
        "",
        f"Training took {m.get('train_seconds', '?')} s. Seed {t['arguments']['seed']}, "
        f"{t['arguments']['epochs']} epoch(s), lr {t['arguments']['lr']}, batch {t['arguments']['batch_size']}.",
        "",
    ]
    path = out / "README.md"
    path.write_text("\n".join(lines))
    return path


def _counts(c: dict[str, int] | None) -> str:
    if not c:
        return "–"
    if "positive" in c:
        return f"{c['positive']} / {c['labeled']}"
    return str(c.get("rows", "–"))


def _problem_type(config: dict[str, Any]) -> str:
    if config.get("groups"):
        parts = [f"{g['name']}: {g['activation']} over {', '.join(g['labels'])}" for g in config["groups"]]
        return "label groups over one encoder, one forward pass (" + "; ".join(parts) + ")"
    return "multi-label (independent sigmoid per label)" if config["task"] == "toxicity" else "single-label (softmax)"


def _metrics_lines(task: str, m: dict[str, Any]) -> list[str]:
    """The validation tables: per label for toxicity, per class for sentiment, per group
    (and per data source) for a multi-head model."""
    if task == "multi":
        lines: list[str] = []
        for name, g in m["groups"].items():
            kind = "toxicity" if "mean_roc_auc" in g else "sentiment"
            lines += [f"### {name}", ""] + (_metrics_lines(kind, g) if g.get("labels") else [])
            if "partial_accuracy" in g:
                lines += [
                    "",
                    f"Negative vs positive accuracy on review sets without a neutral class "
                    f"({g['partial_n']} rows): **{_fmt(g['partial_accuracy'])}**.",
                ]
            lines.append("")
        lines += ["### By data source", "", "| source | group | headline |", "|---|---|---|"]
        for source, groups in m.get("sources", {}).items():
            for name, g in groups.items():
                for key in ("mean_roc_auc", "macro_recall", "partial_accuracy"):
                    if g.get(key) is not None:
                        lines.append(f"| {source} | {name} | {key} {_fmt(g[key])} |")
        return lines
    if task == "toxicity":
        lines = ["| label | n | positives | ROC-AUC | macro-F1 | ECE |", "|---|---|---|---|---|---|"]
        for lab, v in m["labels"].items():
            lines.append(
                f"| `{lab}` | {v['n']} | {v['positives']} | {_fmt(v['roc_auc'])} | {_fmt(v['macro_f1'])} | {_fmt(v['ece'])} |"
            )
        return [
            *lines,
            "",
            f"Mean ROC-AUC {_fmt(m.get('mean_roc_auc'))}, mean macro-F1 {_fmt(m.get('mean_macro_f1'))}.",
        ]
    lines = [
        f"Macro-averaged recall (TweetEval's metric) **{_fmt(m['macro_recall'])}**, macro-F1 {_fmt(m['macro_f1'])}, "
        f"accuracy {_fmt(m['accuracy'])}, ECE {_fmt(m['ece'])}.",
        "",
        "| label | n | recall | F1 | ROC-AUC (one vs rest) |",
        "|---|---|---|---|---|",
    ]
    for lab, v in m["labels"].items():
        lines.append(f"| `{lab}` | {v['n']} | {_fmt(v['recall'])} | {_fmt(v['f1'])} | {_fmt(v['roc_auc'])} |")
    return lines
