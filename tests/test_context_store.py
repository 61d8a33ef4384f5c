"""In-context scores in the store (issue 16), on SQLite and PostgreSQL: a context model's
scores land in ``context_scores`` under its own models row (``context = "parent"``), beside
the context-free ones and never mixed into them; a changed parent text replaces them; thread
statistics and the ranking use them by default and say so; a store made before migration
0005 upgrades without losing anything. The pipeline runs real tiny models built here."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from store_helpers import model_info, scored

from analyzer.store import ModelInfo, Store
from analyzer.store import migrate as versions
from analyzer.store import schema as t
from analyzer.thread import Comment, Thread

pytest_plugins = ["conftest_store", "conftest_models"]

WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
CONTEXT = ModelInfo("test-ctx", "fp-ctx-1", "toxicity", ("toxicity",), {"toxicity": 0.5}, context="parent")


def thread_of(parent_text: str = "they should all be deported", reply: str = "exactly, you first") -> Thread:
    post = Comment("p", "Story body", author="editor", extra={"title": "Big news"})
    comments = [
        Comment("a", parent_text, parent_id="p", author="ann", created_at=WHEN),
        Comment("b", reply, parent_id="a", author="bob", created_at=WHEN),
        Comment("c", "calm reply", parent_id="a", author="cat", created_at=WHEN),
    ]
    return Thread.build("th", comments, post=post, source="t.json", format="jsonl")


PLAIN = {"a": {"toxicity": 0.3, "insult": 0.1}, "b": {"toxicity": 0.1, "insult": 0.05}, "c": {"toxicity": 0.05}}
IN_CONTEXT = {"a": {"toxicity": 0.35}, "b": {"toxicity": 0.9}, "c": {"toxicity": 0.1}}


def with_context(thread: Thread, plain: dict, in_context: dict) -> list[dict]:
    """Records as ``analyzer score`` writes them with a context model loaded."""
    out = []
    for r in scored(thread, plain):
        if r["id"] in in_context:
            r = {**r, "context_scores": in_context[r["id"]], "context_models": {"toxicity": CONTEXT.version}}
        out.append(r)
    return out


@pytest.fixture
def store(store_url: str):
    with Store.open(store_url) as s:
        yield s


def rows(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.metadata.tables[table])).scalar() or 0)


def test_context_scores_are_kept_apart_under_their_own_model(store: Store) -> None:
    thread = thread_of()
    store.import_threads([thread], with_context(thread, PLAIN, IN_CONTEXT), source="t", models=[model_info(), CONTEXT])
    loaded = store.load_thread("th")
    assert loaded.scores["b"] == {"toxicity": 0.1, "insult": 0.05}  # context-free, untouched
    assert loaded.context_scores["b"] == {"toxicity": 0.9}
    assert loaded.context_models == {"toxicity": "test-ctx@fp-ctx-1"}
    assert loaded.models["toxicity"] == "test-tox@fp-tox-1"  # the newer context model does not take over
    assert loaded.context_thresholds == {"toxicity": 0.5}
    models = {m["fingerprint"]: m["context"] for m in store.models()}
    assert models == {"fp-tox-1": None, "fp-ctx-1": "parent"}
    assert rows(store, "context_scores") == 3 and rows(store, "scores") == 5

    detail = store.comment("th", "b")
    assert detail["scores"]["toxicity"]["value"] == 0.1
    assert detail["context_scores"]["toxicity"] == {"value": 0.9, "model": "test-ctx@fp-ctx-1", "threshold": 0.5}
    assert {h["in_context"] for h in detail["history"]} == {True, False}

    # the review queue and verdict scores stay on the context-free model
    queue = store.review_queue("toxicity", threshold=0.0)
    assert queue and {q["model"] for q in queue} == {"test-tox@fp-tox-1"}

    # importing the same again adds nothing
    again = store.import_threads(
        [thread], with_context(thread, PLAIN, IN_CONTEXT), source="t", models=[model_info(), CONTEXT]
    )
    assert again.scores_added == 0 and rows(store, "context_scores") == 3


def test_a_changed_parent_replaces_the_in_context_score(store: Store) -> None:
    first = thread_of()
    store.import_threads([first], with_context(first, PLAIN, IN_CONTEXT), source="t", models=[model_info(), CONTEXT])
    have = store.context_scored_hashes(["th"], ["fp-ctx-1"])
    assert set(have) == {("th", "a"), ("th", "b"), ("th", "c")}

    edited = thread_of(parent_text="what a lovely idea")  # only the parent's text changes
    hashes = store.context_scored_hashes(["th"], ["fp-ctx-1"])
    from analyzer.store.importing import parent_texts, text_hash

    parents = parent_texts(edited)
    assert hashes[("th", "b")] != (text_hash("exactly, you first"), text_hash(parents["b"]))  # the pipeline re-reads b
    assert hashes[("th", "a")] == (text_hash("they should all be deported"), text_hash(parents["a"]))  # a: same post
    summary = store.import_threads(
        [edited],
        with_context(edited, PLAIN, {"b": {"toxicity": 0.2}}),
        source="t2",
        models=[model_info(), CONTEXT],
    )
    assert summary.scores_added == 3  # a's two scores of its new text, and b read under it
    loaded = store.load_thread("th")
    assert loaded.context_scores["b"] == {"toxicity": 0.2}
    assert rows(store, "context_scores") == 3  # replaced, not added beside


def test_thread_stats_and_ranking_use_context_by_default_and_say_so(store: Store) -> None:
    calm = thread_of()
    calm_records = with_context(calm, PLAIN, IN_CONTEXT)
    store.import_threads([calm], calm_records, source="t", models=[model_info(), CONTEXT])
    plain_only = Thread.build(
        "plain",
        [Comment("x", "hello", author="u", created_at=WHEN), Comment("y", "hi", parent_id="x", author="v")],
        source="p.json",
    )
    store.import_threads([plain_only], scored(plain_only, {"x": {"toxicity": 0.6}, "y": {"toxicity": 0.2}}), source="p")

    ranked = {r["thread_id"]: r for r in store.list_threads()}
    alone = {r["thread_id"]: r for r in store.list_threads(scores="alone")}
    assert ranked["th"]["in_context"] is True and ranked["plain"]["in_context"] is False
    assert alone["th"]["in_context"] is False
    # in context b is toxic (0.9): one toxic comment of three; alone none is
    assert (ranked["th"]["toxic"], alone["th"]["toxic"]) == (1, 0)
    assert ranked["th"]["risk"] > alone["th"]["risk"]
    assert ranked["plain"]["risk"] == alone["plain"]["risk"]  # no context model: the same either way
    assert ranked["th"]["max_toxicity"] == pytest.approx(0.9) and alone["th"]["max_toxicity"] == pytest.approx(0.3)
    assert store.totals()["toxic"] == 2 and store.totals(scores="alone")["toxic"] == 1
    assert [r["thread_id"] for r in store.list_threads(min_risk=ranked["th"]["risk"] - 1e-9)] == ["th"]

    # the stored numbers are those analytics.report computes (as `analyzer report` calls it), in either mode
    from analyzer.commands.report import build_report

    loaded = store.load_thread("th")
    for use_context, row in ((True, ranked["th"]), (False, alone["th"])):
        report = build_report(loaded, use_context=use_context)
        assert report["summary"]["risk"] == pytest.approx(row["risk"])
        assert report["summary"]["toxic"] == row["toxic"]
        assert report["scores_used"] == ("in context" if use_context else "alone")
        assert report["context_available"] is True


def test_one_rule_measures_in_context_for_analytics_and_the_store() -> None:
    """``ScoredThread.measured`` is the one in-context rule: label by label, the context
    model's thresholds for its labels, off with ``use_context=False``; the store's
    ``thread_stats`` rows are written through it (``store.stats.write_stats``)."""
    from analyzer.scored_thread import ScoredThread

    thread = Thread.build("t", [Comment("a", "x"), Comment("b", "y", parent_id="a")])
    scored = ScoredThread(
        thread, PLAIN, thresholds={"toxicity": 0.5}, context_scores=IN_CONTEXT, context_thresholds={"toxicity": 0.7}
    )
    chosen, thresholds, used = scored.measured()
    assert used and thresholds == {"toxicity": 0.7}
    assert chosen["a"] == {"toxicity": 0.35, "insult": 0.1}  # label by label
    assert scored.measured(use_context=False) == (PLAIN, {"toxicity": 0.5}, False)
    assert scored.measured(thresholds={"toxicity": 0.3}).thresholds == {"toxicity": 0.3}  # a page's tuned choice
    assert ScoredThread(thread, PLAIN).measured().in_context is False  # nothing in context: measured alone


def test_parent_texts_are_what_the_scorer_pairs(tmp_path: Path) -> None:
    """The store's parent rule (whose hash it keeps) is the scorer's pairing rule."""
    from conftest_models import make_tiny_model

    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer
    from analyzer.store.importing import parent_texts

    pair = Classifier.from_pretrained(
        make_tiny_model(
            tmp_path / "pair",
            labels=["toxic"],
            problem_type="multi_label_classification",
            analyzer={"task": "toxicity", "context": "parent", "max_length": 48},
        )
    )
    thread = thread_of()
    scorer = Scorer([pair])
    out = {r["id"]: r for r in scorer.score_records(list(thread.records()))}
    parents = parent_texts(thread)
    assert set(parents) == {cid for cid, r in out.items() if "context_scores" in r}
    expected = scorer.score_pairs([(parents[cid], thread.get(cid).text) for cid in sorted(parents)])
    for cid, result in zip(sorted(parents), expected):
        assert out[cid]["context_scores"] == pytest.approx(result.scores, abs=1e-5)


def test_pipeline_scores_in_context_and_reads_again_only_what_changed(store: Store, tmp_path: Path) -> None:
    from conftest_models import make_tiny_model

    from analyzer import pipeline
    from analyzer.scoring.classifier import Classifier
    from analyzer.store import ImportBatch

    plain = Classifier.from_pretrained(
        make_tiny_model(tmp_path / "plain", labels=["toxic"], problem_type="multi_label_classification", seed=1)
    )
    pair = Classifier.from_pretrained(
        make_tiny_model(
            tmp_path / "pair",
            labels=["toxic"],
            problem_type="multi_label_classification",
            analyzer={"task": "toxicity", "context": "parent", "max_length": 48},
            seed=2,
        )
    )
    first = [ImportBatch([thread_of()], source="one")]
    pipeline.import_batches(store, first, [plain, pair])
    loaded = store.load_thread("th")
    assert set(loaded.context_scores) == {"a", "b", "c"} and set(loaded.scores) == {"p", "a", "b", "c"}
    assert loaded.context_models["toxicity"] == pair.version and loaded.models["toxicity"] == plain.version

    # same thread again: nothing to score
    again = [ImportBatch([thread_of()], source="one-again")]
    pipeline.score_batches(store, again, [plain, pair])
    assert again[0].records == []

    # the parent edited: its own scores and its replies' in-context scores are read again, nothing else
    edited = [ImportBatch([thread_of(parent_text="go away you stupid idiot")], source="two")]
    pipeline.score_batches(store, edited, [plain, pair])
    by_id = {r["id"]: r for r in edited[0].records}
    assert set(by_id) == {"a", "b", "c"}
    assert "scores" in by_id["a"] and "scores" not in by_id["b"] and "scores" not in by_id["c"]
    assert {"b", "c"} <= {cid for cid, r in by_id.items() if "context_scores" in r}
    pipeline.store_batches(store, edited, [plain, pair])
    after = store.load_thread("th")
    assert after.context_scores["b"] != loaded.context_scores["b"]  # read under the new parent
    assert after.scores["b"] == loaded.scores["b"]  # alone it is the same comment


def test_store_made_before_0005_upgrades_losing_nothing(store_url: str) -> None:
    """A store at revision 0004 (made with context-free models, a verdict and statistics)
    opens, migrates to 0005, keeps every row, and then takes in-context scores."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from analyzer.store.database import make_engine, resolve_url

    thread = thread_of()
    with Store.open(store_url) as store:
        store.import_threads([thread], scored(thread, PLAIN), source="old", models=[model_info()])
        store.add_verdict("th", "b", reviewer="rev", decision="remove", labels={"toxicity": 1})
        before_rank = store.list_threads()
        before_scores = store.load_thread("th").scores
    engine = make_engine(resolve_url(store_url))
    with engine.begin() as conn:
        command.downgrade(versions.alembic_config(conn), "0004")
    with engine.connect() as conn:
        assert versions.current_revision(conn) == "0004"
        assert not inspect(conn).has_table("context_scores")
        counts = {
            name: conn.execute(select(func.count()).select_from(t.metadata.tables[name])).scalar()
            for name in ("comments", "scores", "verdicts", "thread_stats", "models")
        }
    engine.dispose()

    with Store.open(store_url) as store:
        assert store.schema_version() == "0005" == versions.head_revision()
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), t.metadata) == []
            after = {
                name: conn.execute(select(func.count()).select_from(t.metadata.tables[name])).scalar()
                for name in counts
            }
        assert after == counts
        assert store.load_thread("th").scores == before_scores
        ranked = store.list_threads()
        assert [(r["thread_id"], r["risk"], r["in_context"]) for r in ranked] == [
            (r["thread_id"], r["risk"], False) for r in before_rank
        ]
        assert store.list_threads(scores="alone")[0]["risk"] == before_rank[0]["risk"]
        assert [v["decision"] for v in store.verdicts(thread_id="th")] == ["remove"]
        assert {m["context"] for m in store.models()} == {None}
        # and now a context model's scores go in beside the old ones
        store.import_threads(
            [thread], with_context(thread, PLAIN, IN_CONTEXT), source="new", models=[model_info(), CONTEXT]
        )
        assert store.load_thread("th").context_scores["b"] == {"toxicity": 0.9}
        assert store.list_threads()[0]["in_context"] is True


def test_cli_score_ingest_report_and_export_with_a_context_model(tmp_path: Path) -> None:
    """`analyzer ingest` with a context model stores both; `analyzer report` says which
    scores it used (and --alone switches); `analyzer export` adds *_in_context columns."""
    from conftest_models import make_tiny_model

    plain = make_tiny_model(tmp_path / "plain", labels=["toxic"], problem_type="multi_label_classification", seed=1)
    pair = make_tiny_model(
        tmp_path / "pair",
        labels=["toxic"],
        problem_type="multi_label_classification",
        analyzer={"task": "toxicity", "context": "parent", "max_length": 48},
        seed=2,
    )
    data = tmp_path / "thread.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"id": "a", "thread_id": "th", "text": "they should all go", "author": "ann"},
                {"id": "b", "thread_id": "th", "parent_id": "a", "text": "exactly, you first", "author": "bob"},
            ]
        ),
        encoding="utf-8",
    )
    db = tmp_path / "store.db"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "analyzer.cli", *args],
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )

    r = run("ingest", str(data), "--db", str(db), "--model", str(plain), "--model", str(pair), "--precision", "float32")
    assert r.returncode == 0, r.stderr[-2000:]
    r = run("report", "th", "--db", str(db), "--format", "json")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert report["scores_used"] == "in context" and report["context_models"]["toxicity"].startswith("pair@")
    r = run("report", "th", "--db", str(db), "--alone")
    assert r.returncode == 0 and "Scores: alone" in r.stdout
    r = run("threads", "--db", str(db))
    assert r.returncode == 0 and "in context" in r.stdout.splitlines()[1]
    r = run("threads", "--db", str(db), "--alone")
    assert r.returncode == 0 and "in context" not in r.stdout and "alone" in r.stdout.splitlines()[1]
    out = tmp_path / "export.csv"
    r = run("export", "--db", str(db), "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    import csv

    with open(out, encoding="utf-8") as fh:
        exported = {row["comment_id"]: row for row in csv.DictReader(fh)}
    assert exported["b"]["toxicity_in_context"] and exported["b"]["toxicity"]
    assert exported["b"]["toxicity_in_context"] != exported["b"]["toxicity"]
    assert exported["b"]["context_models"].startswith("{")
