"""The scoring engine on tiny random BERTs built in the test: labels, batching,
windowing, caching, fingerprints, explanations, offline loading, errors."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.errors import ModelError
from analyzer.scoring.cache import ScoreCache, normalize_text, text_key
from analyzer.scoring.classifier import Classifier
from analyzer.scoring.defaults import NO_DEFAULTS, default_model_dirs
from analyzer.scoring.explain import explain
from analyzer.scoring.labels import CANONICAL_LABELS, canonical_label
from analyzer.scoring.scorer import Scorer

pytest_plugins = ["conftest_models"]

TEXTS = [
    "you are an idiot",
    "thanks, great post!",
    "i love this thread and the people in it",
    "go away",
    "hate",
    "this is a terrible awful stupid comment " * 6,  # longer than the sentiment model's 32 tokens
    "nice",
    "they say we are smart but i think they are dumb and bad " * 3,
    "ok",
    "Zürich — café, naïve?",
]


@pytest.fixture(scope="module")
def toxicity(toxicity_model_dir: Path) -> Classifier:
    return Classifier.from_pretrained(toxicity_model_dir, device="cpu")


@pytest.fixture(scope="module")
def sentiment(sentiment_model_dir: Path) -> Classifier:
    return Classifier.from_pretrained(sentiment_model_dir, device="cpu")


def _close(a: dict[str, float], b: dict[str, float], tol: float = 1e-5) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= tol for k in a)


def _n_tokens(clf: Classifier, text: str) -> int:
    return len(clf.encode([text])[0])


# ---------------------------------------------------------------------- labels
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("toxic", "toxicity"),
        ("Toxic", "toxicity"),
        ("severe_toxic", "severe_toxicity"),
        ("severe toxicity", "severe_toxicity"),
        ("identity_hate", "identity_attack"),
        ("hate", "identity_attack"),
        ("offensive", "toxicity"),
        ("sexually-explicit", "sexual_explicit"),
        ("NEG", "negative"),
        ("pos", "positive"),
        ("neutral", "neutral"),
        ("non-toxic", None),
    ],
)
def test_global_aliases(raw: str, expected: str | None) -> None:
    assert canonical_label(raw) == expected


def test_canonical_labels_map_to_themselves() -> None:
    assert [canonical_label(label) for label in CANONICAL_LABELS] == list(CANONICAL_LABELS)


def test_generic_labels_need_the_models_own_aliases() -> None:
    with pytest.raises(ModelError, match="LABEL_0"):
        canonical_label("LABEL_0")
    assert canonical_label("LABEL_0", {"LABEL_0": "negative"}) == "negative"
    assert canonical_label("LABEL_1", {"label_1": "toxic"}) == "toxicity"
    with pytest.raises(ModelError, match="spicy"):
        canonical_label("spicy")
    with pytest.raises(ModelError, match="LABEL_2"):
        canonical_label("LABEL_2", {"LABEL_2": "not-a-label"})


# ---------------------------------------------------------------------- loading
def test_multi_label_model_reads_labels_and_config(toxicity: Classifier) -> None:
    assert toxicity.labels == ["toxicity", "severe_toxicity", "insult", "identity_attack"]
    assert toxicity.multi_label and toxicity.task == "toxicity"
    assert toxicity.name == "tiny-toxicity"  # no analyzer.json: the folder name
    assert toxicity.max_length == 64
    assert toxicity.thresholds == {label: 0.5 for label in toxicity.labels}
    assert toxicity.card and "tiny test model" in toxicity.card
    assert len(toxicity.fingerprint) == 16
    assert not toxicity.model.training


def test_single_label_model_maps_label_n_through_analyzer_json(sentiment: Classifier) -> None:
    assert sentiment.labels == ["negative", "neutral", "positive"]
    assert not sentiment.multi_label and sentiment.task == "sentiment"
    assert sentiment.name == "tiny-sentiment"
    assert sentiment.max_length == 32
    assert sentiment.thresholds["negative"] == 0.6
    for scores in sentiment.predict(TEXTS):
        assert abs(sum(scores.values()) - 1.0) < 1e-5


def test_model_with_some_labels_provides_only_those(toxicity: Classifier, sentiment: Classifier) -> None:
    for result in Scorer([toxicity, sentiment]).score_texts(TEXTS):
        assert set(result.scores) == {*toxicity.labels, *sentiment.labels}
        assert not {"obscene", "threat", "sexual_explicit"} & set(result.scores)
        assert all(0.0 <= p <= 1.0 for p in result.scores.values())
        assert {result.models[label] for label in toxicity.labels} == {toxicity.version}
        assert {result.models[label] for label in sentiment.labels} == {sentiment.version}


def test_unmapped_label_n_is_a_model_error(tmp_path: Path, tiny_model: Callable[..., Path]) -> None:
    folder = tiny_model(tmp_path / "generic", labels=["LABEL_0", "LABEL_1"], problem_type=None)
    with pytest.raises(ModelError, match="LABEL_0.*label_aliases"):
        Classifier.from_pretrained(folder)


def test_binary_model_reports_only_its_positive_class(tmp_path: Path, tiny_model: Callable[..., Path]) -> None:
    folder = tiny_model(tmp_path / "binary", labels=["non-toxic", "toxic"], problem_type=None, readme=None)
    clf = Classifier.from_pretrained(folder)
    assert clf.labels == ["toxicity"] and not clf.multi_label and clf.card is None
    assert set(clf.predict(["go away"])[0]) == {"toxicity"}


@pytest.mark.parametrize("case", ["missing", "file", "no_config", "no_weights", "bad_json"])
def test_bad_model_dir_is_a_model_error(tmp_path: Path, toxicity_model_dir: Path, case: str) -> None:
    target = tmp_path / "model"
    if case == "file":
        target.write_text("not a folder")
    elif case == "no_config":
        target.mkdir()
        (target / "model.safetensors").write_bytes(b"")
    elif case in ("no_weights", "bad_json"):
        shutil.copytree(toxicity_model_dir, target)
        if case == "no_weights":
            (target / "model.safetensors").unlink()
        else:
            (target / "analyzer.json").write_text("{oops")
    with pytest.raises(ModelError) as info:
        Classifier.from_pretrained(target)
    assert str(target) in str(info.value)


def test_hub_id_needs_allow_network() -> None:
    with pytest.raises(ModelError, match="--allow-network"):
        Classifier.from_pretrained("unitary/toxic-bert")


# ---------------------------------------------------------------------- batching
@pytest.mark.parametrize("which", ["toxicity", "sentiment"])
def test_batching_and_order_do_not_change_scores(which: str, request: pytest.FixtureRequest) -> None:
    clf: Classifier = request.getfixturevalue(which)
    reference = [s for s, _ in clf.score(TEXTS, batch_size=1, sort_by_length=False)]
    for batch_size in (1, 3, 64):
        for sort in (True, False):
            got = [s for s, _ in clf.score(TEXTS, batch_size=batch_size, sort_by_length=sort)]
            assert all(_close(a, b) for a, b in zip(reference, got)), (batch_size, sort)
    # a text's score does not depend on its neighbours or its position
    reversed_scores = [s for s, _ in clf.score(TEXTS[::-1], batch_size=64)][::-1]
    assert all(_close(a, b) for a, b in zip(reference, reversed_scores))


def test_scorer_batch_size_and_chunking_do_not_change_scores(toxicity: Classifier, sentiment: Classifier) -> None:
    small = Scorer([toxicity, sentiment], batch_size=1, chunk_size=3, sort_by_length=False).score_texts(TEXTS)
    big = Scorer([toxicity, sentiment], batch_size=64).score_texts(TEXTS)
    assert all(_close(a.scores, b.scores) and a.windowed == b.windowed for a, b in zip(small, big))


def test_models_run_in_parallel_give_exactly_the_sequential_scores(toxicity: Classifier, sentiment: Classifier) -> None:
    """Running the models at once (each on its share of the threads) changes nothing but
    the time: same batches, same scores (to float rounding: one pass's sums split over one
    thread or two); torch's thread count is restored."""
    import threading

    import torch

    seen: set[str] = set()
    real = Classifier.score

    def spy(self: Classifier, *args: Any, **kwargs: Any) -> Any:
        seen.add(threading.current_thread().name)
        return real(self, *args, **kwargs)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        texts = TEXTS * 3 + [f"comment number {i}" for i in range(40)]
        one = Scorer([toxicity, sentiment], parallel_models=False).score_texts(texts)
        Classifier.score = spy  # type: ignore[method-assign]
        both = Scorer([toxicity, sentiment]).score_texts(texts)
        assert torch.get_num_threads() == 2
    finally:
        Classifier.score = real  # type: ignore[method-assign]
        torch.set_num_threads(before)
    assert [(a.models, a.windowed) for a in one] == [(b.models, b.windowed) for b in both]
    assert all(a.scores == pytest.approx(b.scores, abs=1e-6) for a, b in zip(one, both))
    assert len(seen) == 2 and all(name.startswith("analyzer-model") for name in seen)


def test_batch_size_defaults_by_device(toxicity: Classifier) -> None:
    from analyzer.scoring.scorer import CPU_BATCH, GPU_BATCH

    assert Scorer([toxicity]).batch_size_for(toxicity) == CPU_BATCH  # the tiny model is on the CPU
    assert Scorer([toxicity], batch_size=7).batch_size_for(toxicity) == 7
    assert GPU_BATCH > CPU_BATCH


# ---------------------------------------------------------------------- windowing
@pytest.mark.parametrize("which", ["toxicity", "sentiment"])
def test_windowing_happens_exactly_past_max_length(which: str, request: pytest.FixtureRequest) -> None:
    clf: Classifier = request.getfixturevalue(which)
    room = clf.max_length - 2  # [CLS] and [SEP]
    fits, too_long = " ".join(["good"] * room), " ".join(["good"] * (room + 1))
    assert _n_tokens(clf, fits) == room and _n_tokens(clf, too_long) == room + 1
    (_, w_fits), (_, w_long) = clf.score([fits, too_long])
    assert (w_fits, w_long) == (False, True)
    result = Scorer([clf]).score_texts([fits, too_long])
    assert [r.windowed for r in result] == [False, True]


def test_windows_cover_every_token_and_fit_the_model(sentiment: Classifier) -> None:
    ids = list(range(100, 100 + 200))
    windows = sentiment.windows(ids)
    assert len(windows) > 1
    assert all(len(w) + 2 <= sentiment.max_length for w in windows)
    assert sorted(set(t for w in windows for t in w)) == ids
    spans = sentiment.window_spans(len(ids))
    assert all(a[1] > b[0] for a, b in pairwise(spans))  # consecutive windows overlap


def test_windowed_scores_combine_max_for_toxicity_and_weighted_mean_for_sentiment(
    toxicity: Classifier, sentiment: Classifier
) -> None:
    text = "you are a stupid idiot but thanks for the great post " * 12
    for clf in (toxicity, sentiment):
        ids = clf.encode([text])[0]
        windows = clf.windows(ids)
        assert len(windows) > 1
        rows = clf.forward(windows)
        ((scores, windowed),) = clf.score([text])
        assert windowed
        for j, label in enumerate(clf.output_labels):
            if clf.task == "toxicity":
                expected = max(r[j] for r in rows)
            else:
                expected = sum(r[j] * len(w) for r, w in zip(rows, windows)) / sum(len(w) for w in windows)
            assert abs(scores[label] - expected) < 1e-5
    assert abs(sum(sentiment.predict([text])[0].values()) - 1.0) < 1e-5


# ---------------------------------------------------------------------- cache
def test_cache_prevents_rescoring(
    toxicity: Classifier, sentiment: Classifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scores.sqlite"
    cache = ScoreCache(path)
    scorer = Scorer([toxicity, sentiment], cache=cache)
    first = scorer.score_texts(TEXTS)
    assert cache.hits == 0 and cache.misses == 2 * len(TEXTS)
    assert scorer.model_runs == {toxicity.version: len(TEXTS), sentiment.version: len(TEXTS)}

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran although every text was cached")

    monkeypatch.setattr(toxicity, "forward", no_model)
    monkeypatch.setattr(sentiment, "forward", no_model)
    again = scorer.score_texts(TEXTS)
    assert cache.misses == 2 * len(TEXTS) and cache.hits == 2 * len(TEXTS)
    assert [a.scores for a in again] == [f.scores for f in first]
    assert [a.windowed for a in again] == [f.windowed for f in first]
    cache.close()

    # a new process (fresh memory) reads the SQLite file: still nothing to score
    with ScoreCache(path) as reopened:
        records = list(Scorer([toxicity, sentiment], cache=reopened).score_records({"text": t} for t in TEXTS))
        assert reopened.misses == 0 and reopened.hits == 2 * len(TEXTS)
    assert [r["scores"] for r in records] == [f.scores for f in first]


def test_identical_texts_are_scored_once(toxicity: Classifier) -> None:
    cache = ScoreCache()
    scorer = Scorer([toxicity], cache=cache)
    results = scorer.score_texts(["you  are an idiot", "you are an idiot", "you are\nan idiot", "nice"])
    assert scorer.model_runs[toxicity.version] == 2
    assert results[0].scores == results[1].scores == results[2].scores
    assert Scorer([toxicity]).score_texts(["go away"] * 5)  # no cache: still deduplicated per chunk


def test_text_normalisation() -> None:
    assert normalize_text("  cafe\u0301 \t au\n lait ") == "caf\u00e9 au lait"
    assert text_key("cafe\u0301 au lait") == text_key("café   au lait")
    assert text_key("a b") != text_key("ab")


def test_memory_cache_is_bounded() -> None:
    cache = ScoreCache(max_entries=2)
    cache.put_many("fp", {"a": ({"toxicity": 0.1}, False), "b": ({"toxicity": 0.2}, False)})
    cache.get_many("fp", ["a"])  # touch a, so b is the least recently used
    cache.put_many("fp", {"c": ({"toxicity": 0.3}, True)})
    assert set(cache.get_many("fp", ["a", "b", "c"])) == {"a", "c"}
    assert cache.get_many("other-model", ["a"]) == {}


def test_cache_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREAD_ANALYZER_CACHE", str(tmp_path / "env.sqlite"))
    assert ScoreCache.from_env().path == tmp_path / "env.sqlite"
    assert ScoreCache.from_env(tmp_path / "cli.sqlite").path == tmp_path / "cli.sqlite"
    monkeypatch.setenv("THREAD_ANALYZER_CACHE", "")
    assert ScoreCache.from_env().path is None  # empty: memory only
    monkeypatch.delenv("THREAD_ANALYZER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ScoreCache.from_env().path == tmp_path / "xdg" / "thread-analyzer" / "scores.sqlite"  # the default
    assert ScoreCache.from_env(enabled=False).path is None


# ---------------------------------------------------------------------- fingerprints
def test_fingerprint_changes_when_weights_change(toxicity_model_dir: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    same = shutil.copytree(toxicity_model_dir, tmp_path / "same")
    changed = shutil.copytree(toxicity_model_dir, tmp_path / "changed")
    model = AutoModelForSequenceClassification.from_pretrained(changed, local_files_only=True)
    with torch.no_grad():
        model.classifier.bias.add_(1e-3)
    model.save_pretrained(changed)

    original = Classifier.from_pretrained(toxicity_model_dir)
    assert Classifier.from_pretrained(same).fingerprint == original.fingerprint
    retrained = Classifier.from_pretrained(changed)
    assert retrained.fingerprint != original.fingerprint

    # a new version never reads the old version's cached scores
    cache = ScoreCache()
    Scorer([original], cache=cache).score_texts(["go away"])
    result = Scorer([retrained], cache=cache).score_texts(["go away"])
    assert cache.hits == 0 and result[0].models["toxicity"] == retrained.version


def test_fingerprint_of_a_model_built_in_memory(toxicity: Classifier) -> None:
    import torch

    from analyzer.scoring.classifier import ClassifierConfig

    config = ClassifierConfig(name="mem", task="toxicity", multi_label=True, max_length=64)
    clf = Classifier(toxicity.model, toxicity.tokenizer, toxicity.output_labels, config)
    before = clf.fingerprint
    assert (
        before
        == Classifier(
            toxicity.model,
            toxicity.tokenizer,
            toxicity.output_labels,
            ClassifierConfig(name="mem", task="toxicity", multi_label=True, max_length=64),
        ).fingerprint
    )
    copy = type(toxicity.model)(toxicity.model.config)
    copy.load_state_dict(toxicity.model.state_dict())
    with torch.no_grad():
        copy.classifier.bias.add_(1e-3)
    other = Classifier(
        copy,
        toxicity.tokenizer,
        toxicity.output_labels,
        ClassifierConfig(name="mem", task="toxicity", multi_label=True, max_length=64),
    )
    assert other.fingerprint != before


# ---------------------------------------------------------------------- records, network
def test_score_records_adds_fields_and_scores_posts(toxicity: Classifier, sentiment: Classifier) -> None:
    records = [
        {"id": "p", "kind": "post", "text": "i love this thread"},
        {"id": "c1", "kind": "comment", "text": "you are an idiot"},
        {"id": "c2", "kind": "comment", "text": ""},
    ]
    out = list(Scorer([toxicity, sentiment]).score_records(iter(records)))
    assert [r["id"] for r in out] == ["p", "c1", "c2"]
    assert "scores" not in records[0]  # inputs untouched
    assert set(out[0]["scores"]) == set(out[1]["scores"]) == {*toxicity.labels, *sentiment.labels}
    assert out[0]["models"]["toxicity"] == toxicity.version
    assert out[2]["scores"] == {} and out[2]["models"] == {} and out[2]["windowed"] is False
    json.dumps(out)  # plain Python values only


def test_scoring_works_with_all_network_blocked(
    toxicity_model_dir: Path, sentiment_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def blocked(*args: object, **kwargs: object) -> None:
        raise OSError("network access attempted during an offline test")

    monkeypatch.setattr(socket.socket, "connect", blocked)
    monkeypatch.setattr(socket.socket, "connect_ex", blocked)
    monkeypatch.setattr(socket, "create_connection", blocked)
    monkeypatch.setattr(socket, "getaddrinfo", blocked)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    classifiers = [Classifier.from_pretrained(d) for d in (toxicity_model_dir, sentiment_model_dir)]
    results = Scorer(classifiers).score_texts(TEXTS)
    assert all(r.scores for r in results)
    assert explain(classifiers[1], "you are an idiot", "negative")


# ---------------------------------------------------------------------- explanations
@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion"])
def test_explain_returns_the_words_of_the_text(sentiment: Classifier, toxicity: Classifier, method: str) -> None:
    text = "You are  an idiot, thanks!"
    for clf, label in ((sentiment, "negative"), (toxicity, "insult")):
        words = explain(clf, text, label, method=method, n_steps=8)
        assert [w for w, _ in words] == text.split()
        assert all(isinstance(v, float) for _, v in words)
        assert any(v != 0.0 for _, v in words)


def test_explain_long_text_and_edge_cases(sentiment: Classifier) -> None:
    long_text = "this is a terrible awful stupid comment " * 10
    words = explain(sentiment, long_text, "negative", n_steps=4)
    assert [w for w, _ in words] == long_text.split()
    assert explain(sentiment, "   ", "negative") == []
    with pytest.raises(ModelError, match="threat"):
        explain(sentiment, "hello", "threat")


# ---------------------------------------------------------------------- default models
def _mark(folder: Path, default: bool) -> Path:
    folder.mkdir(parents=True)
    (folder / "analyzer.json").write_text(json.dumps({"name": folder.name, "default": default}))
    return folder


def test_default_model_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _mark(tmp_path / "models" / "b-sentiment", True)
    _mark(tmp_path / "models" / "c-experimental", False)
    b = _mark(tmp_path / "models" / "a-toxicity", True)
    (tmp_path / "models" / "junk").mkdir()
    assert default_model_dirs(tmp_path / "models") == [b, a]
    monkeypatch.setenv("THREAD_ANALYZER_MODELS", str(tmp_path / "models"))
    assert default_model_dirs()[:2] == [b, a]
    with pytest.raises(ModelError, match="pass --model DIR") as info:
        default_model_dirs(tmp_path / "nothing-here")
    assert str(info.value) == NO_DEFAULTS


# ---------------------------------------------------------------------- precision
@pytest.mark.parametrize("precision", ["bfloat16", "int8"])
def test_lower_precision_is_close_and_cached_apart(
    toxicity_model_dir: Path, toxicity: Classifier, precision: str
) -> None:
    fast = Classifier.from_pretrained(toxicity_model_dir, device="cpu", precision=precision)
    assert fast.precision == precision and toxicity.precision == "float32"
    assert fast.fingerprint == toxicity.fingerprint and fast.cache_key != toxicity.cache_key
    for a, b in zip(fast.predict(TEXTS), toxicity.predict(TEXTS)):
        assert _close(a, b, tol=0.05)
    cache = ScoreCache()
    Scorer([toxicity], cache=cache).score_texts(TEXTS[:2])
    Scorer([fast], cache=cache).score_texts(TEXTS[:2])
    assert cache.hits == 0
    with pytest.raises(ModelError, match="precision"):
        Classifier.from_pretrained(toxicity_model_dir, precision="float8")


def test_int8_keeps_the_layers_a_folder_names_in_float32(tmp_path: Path, tiny_model: Callable[..., Path]) -> None:
    """``int8_keep_float`` in analyzer.json: those linear layers stay float32 under int8 (the
    rest are quantized), the fingerprint changes with it, and a name that is no linear layer
    is refused naming the file."""
    import torch

    kept = ["bert.encoder.layer.0.intermediate.dense", "bert.encoder.layer.0.output.dense"]
    labels = ["toxicity", "insult"]
    plain = tiny_model(tmp_path / "plain", labels=labels, problem_type="multi_label_classification", analyzer={})
    keep = tiny_model(
        tmp_path / "keep",
        labels=labels,
        problem_type="multi_label_classification",
        analyzer={"int8_keep_float": kept},
    )
    model = Classifier.from_pretrained(keep, precision="int8").model
    modules = dict(model.named_modules())
    assert all(type(modules[name]) is torch.nn.Linear for name in kept)
    assert type(modules["bert.encoder.layer.1.output.dense"]) is not torch.nn.Linear  # quantized
    float_scores = Classifier.from_pretrained(keep).predict(TEXTS)
    for a, b in zip(Classifier.from_pretrained(keep, precision="int8").predict(TEXTS), float_scores):
        assert _close(a, b, tol=0.05)
    assert Classifier.from_pretrained(keep).fingerprint != Classifier.from_pretrained(plain).fingerprint
    (keep / "analyzer.json").write_text(json.dumps({"int8_keep_float": ["bert.encoder.layer.9.output.dense"]}))
    with pytest.raises(ModelError, match=r"analyzer.json.*layer.9.output.dense"):
        Classifier.from_pretrained(keep, precision="int8")
    (keep / "analyzer.json").write_text(json.dumps({"int8_keep_float": "bert.encoder"}))
    with pytest.raises(ModelError, match="list of module names"):
        Classifier.from_pretrained(keep)


def test_unusable_device_is_a_model_error(toxicity_model_dir: Path) -> None:
    with pytest.raises(ModelError, match="device"):
        Classifier.from_pretrained(toxicity_model_dir, device="no-such-device")


@settings(max_examples=200, deadline=None)
@given(n_tokens=st.integers(0, 3000), max_length=st.integers(3, 600))
def test_window_spans_cover_every_token_once_in_order(n_tokens: int, max_length: int) -> None:
    from analyzer.scoring.classifier import ClassifierConfig

    clf = Classifier(
        None, None, [], ClassifierConfig(name="x", task="toxicity", multi_label=True, max_length=max_length)
    )
    clf._specials = ([101], [102])  # as a BERT tokenizer would: [CLS] ... [SEP]
    spans = clf.window_spans(n_tokens)
    room = max_length - 2
    assert spans[0][0] == 0 and spans[-1][1] == n_tokens
    assert all(0 < end - start <= room or n_tokens == 0 for start, end in spans)
    assert all(a[0] < b[0] <= a[1] for a, b in pairwise(spans))  # advancing, no gaps
    if room >= 4:  # room for a quarter-window overlap
        assert all(b[0] < a[1] for a, b in pairwise(spans))
    assert (len(spans) > 1) == (n_tokens > room)


def test_batches_on_several_threads_give_identical_scores(toxicity: Classifier) -> None:
    """One model's batches run two at a time on a CPU (``workers``): the same batches, so
    the very same numbers, windows and pairs included; torch's thread count is restored."""
    import torch

    texts = [("word " * (i % 37 + 1)) + f"comment {i}" for i in range(120)] + ["long " * 400]
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        one = toxicity.score(texts, batch_size=8, workers=1)
        two = toxicity.score(texts, batch_size=8, workers=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert one == two and any(windowed for _, windowed in two)
