"""Data for the dashboard tests: paths of the real sample threads, a thread of hostile
comments, tiny default models (built, no download) and stores built with them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
THREADS = REPO.parent / "shared" / "data" / "threads"
PASTED = THREADS / "pasted" / "000_f069c0dac730660c.txt"
HN_SMALL = THREADS / "hackernews" / "hn_1_y_combinator.json"
EXAMPLE_PAGE = REPO / "examples" / "article_page.txt"
needs_data = pytest.mark.skipif(
    not (PASTED.exists() and HN_SMALL.exists()), reason=f"shared data not found at {THREADS}"
)

# Comments that would run code or fetch things if any layer rendered them as HTML or Markdown.
# Each payload, if it ever ran, sets window.__pwned (or opens a dialog).
HOSTILE_TEXTS = {
    "h1": "<script>window.__pwned = 'script'</script>plain after the script tag",
    "h2": "<img src=x onerror=\"window.__pwned='img'; alert('img')\"> an image with an error handler",
    "h3": '<div onmouseover="window.__pwned=\'hover\'" style="position:fixed;inset:0">hover me</div>',
    "h4": "[click me](javascript:window.__pwned='md-link') and ![tracker](http://127.0.0.1:9/pixel.png)",
    "h5": "</div></details></div><script>window.__pwned='breakout'</script><svg onload=\"window.__pwned='svg'\">",
    "h6": "<a href=\"javascript:window.__pwned='a'\">a javascript: link</a> **not bold** # not a heading",
}
HOSTILE_AUTHORS = {
    "h1": "<b onmouseover=\"window.__pwned='author'\">mallory</b>",
    "h2": '" onmouseover="window.__pwned=\'attr\'" x="',
    "h3": "[eve](javascript:alert(1))",
}
HOSTILE_PARENTS = {"h1": None, "h2": "h1", "h3": "h2", "h4": None, "h5": "h4", "h6": "h5"}


def hostile_jsonl() -> bytes:
    """A thread ('hostile') of hostile comments as JSON Lines, in a reply chain."""
    lines = [
        json.dumps(
            {
                "thread_id": "hostile",
                "id": cid,
                "parent_id": HOSTILE_PARENTS[cid],
                "author": HOSTILE_AUTHORS.get(cid, "anon"),
                "created_at": f"2024-05-0{i}T12:00:00Z",
                "text": text,
            }
        )
        for i, (cid, text) in enumerate(HOSTILE_TEXTS.items(), 1)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


TOXICITY_META = {
    "name": "tiny-toxicity",
    "task": "toxicity",
    "default": True,
    "base_model": "random",
    "thresholds": {"toxicity": 0.5, "insult": 0.6, "identity_attack": 0.5},
    "metrics": {
        "mean_roc_auc": 0.5,
        "labels": {
            "toxicity": {"threshold": 0.5, "confusion_matrix": [[80, 10], [5, 15]]},
            "insult": {
                "threshold": 0.6,
                "curve": [
                    {"threshold": 0.3, "precision": 0.4, "recall": 0.9},
                    {"threshold": 0.6, "precision": 0.7, "recall": 0.5},
                ],
            },
        },
    },
}


def build_models(root: Path, make: Callable[..., Path]) -> Path:
    """Two tiny default models under ``root``: toxicity (3 labels) and sentiment."""
    make(
        root / "tiny-toxicity",
        labels=["toxic", "insult", "identity_hate"],
        problem_type="multi_label_classification",
        analyzer=TOXICITY_META,
        readme="# tiny-toxicity\n\nA test model.\n",
    )
    make(
        root / "tiny-sentiment",
        labels=["LABEL_0", "LABEL_1", "LABEL_2"],
        problem_type="single_label_classification",
        seed=1,
        analyzer={
            "name": "tiny-sentiment",
            "task": "sentiment",
            "default": True,
            "label_aliases": {"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"},
        },
    )
    return root


def build_store(db: Path, models_root: Path, paths: list[Path], extra: list[tuple[str, bytes]] = ()) -> dict[str, Any]:
    """Import ``paths`` (and in-memory files) into the store ``db``, scored by the models in
    ``models_root``; returns the threads as parsed ({thread id: Thread})."""
    from analyzer import pipeline
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.defaults import default_model_dirs
    from analyzer.store import Store

    classifiers = [Classifier.from_pretrained(d, device="cpu") for d in default_model_dirs(models_root)]
    batches = pipeline.batches_from_paths(paths) if paths else []
    batches += pipeline.batches_from_bytes(list(extra))
    with Store.open(db) as store:
        pipeline.import_batches(store, batches, classifiers)
    return {t.id: t for b in batches for t in b.threads}


def open_page(at: Any, key: str, **query: str) -> Any:
    """Run the AppTest app once (so pages are registered), switch to page ``key`` with
    ``query``, run, and check that the page raised nothing."""
    from analyzer.dashboard import nav

    if not at._tree:  # first run registers the pages
        at.run()
    at.switch_page(str(nav.view_path(key).relative_to(REPO)))
    at.query_params.clear()
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
