"""The store on SQLite and PostgreSQL: round trips, idempotency, revisions, verdicts, exports,
migrations, atomicity under SIGKILL, and a reader beside a writer in another process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, func, select, text
from store_helpers import model_info, scored, synthetic

from analyzer.errors import AnalyzerError
from analyzer.store import Store, StoreError
from analyzer.store import migrate as versions
from analyzer.store import schema as t
from analyzer.store.database import WRITE, make_engine, resolve_url
from analyzer.thread import Comment, Thread

pytest_plugins = ["conftest_store"]

HERE = Path(__file__).resolve().parent
TABLES = ("imports", "threads", "comments", "models", "scores", "verdicts", "thread_stats")
WHEN = datetime(2024, 3, 1, 12, 30, tzinfo=timezone.utc)


def sample_thread(text_b: str = "you are an idiot") -> Thread:
    post = Comment("p", "The article", author="editor", extra={"title": "Big news"})
    comments = [
        Comment(
            "a",
            "first!",
            parent_id="p",
            author="ann",
            created_at=WHEN,
            created_precision="second",
            extra={"score": 3, "nested": {"k": [1, 2]}},
        ),
        Comment("b", text_b, parent_id="a", author="bob", created_at=WHEN, author_inferred=True),
        Comment("c", "no, you are", parent_id="b", author="ann"),
        Comment("d", "orphan", parent_id="missing", author="dan"),
    ]
    return Thread.build("th-1", comments, post=post, source="sample.json", format="jsonl", extra={"title": "Big news"})


SCORES = {
    "a": {"toxicity": 0.1, "insult": 0.05},
    "b": {"toxicity": 0.92, "insult": 0.8},
    "c": {"toxicity": 0.7, "insult": 0.3},
    "d": {"toxicity": 0.2, "insult": 0.1},
    "p": {"toxicity": 0.01},
}


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(t.metadata.tables[name])).scalar() for name in TABLES
        }


@pytest.fixture
def store(store_url: str):
    with Store.open(store_url) as s:
        yield s


def test_open_creates_the_newest_schema_matching_the_tables(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert store.schema_version() == versions.head_revision() == versions.script_head()
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), t.metadata) == []
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


def test_import_and_load_round_trip(store: Store) -> None:
    thread = sample_thread()
    summary = store.import_threads(
        [thread], scored(thread, SCORES), source="sample.json", format="jsonl", models=[model_info()]
    )
    assert (summary.threads_added, summary.comments_added, summary.scores_added, summary.repaired) == (1, 5, 9, 1)
    loaded = store.load_thread("th-1")
    got = loaded.thread
    assert got.post is not None and got.post.text == "The article" and got.post.kind == "post"
    assert [c.id for c in got.traverse("preorder", include_post=False)] == ["a", "b", "c", "d"]
    a, b, d = got.get("a"), got.get("b"), got.get("d")
    assert a.created_at == WHEN and a.created_precision == "second" and a.extra == {"score": 3, "nested": {"k": [1, 2]}}
    assert b.author_inferred is True and b.depth == 2 and got.get("c").depth == 3
    assert "orphan_reattached" in d.flags and d.parent_id == "p"
    assert [r.kind for r in got.repairs] == ["orphan_reattached"]
    assert loaded.scores["b"] == {"toxicity": 0.92, "insult": 0.8}
    assert loaded.models == {"toxicity": "test-tox@fp-tox-1", "insult": "test-tox@fp-tox-1"}
    assert loaded.thresholds == {"toxicity": 0.5, "insult": 0.6}
    assert loaded.info["title"] == "Big news"
    [row] = store.list_threads()
    assert (row["thread_id"], row["comments"], row["authors"], row["scored"], row["toxic"]) == ("th-1", 4, 3, 4, 2)
    assert row["risk"] > 0 and row["top_label"] in ("toxicity", "insult")
    assert store.models()[0]["fingerprint"] == "fp-tox-1"
    assert store.imports()[0]["comments"] == 5


def test_same_source_twice_adds_nothing(store: Store) -> None:
    thread = sample_thread()
    store.import_threads([thread], scored(thread, SCORES), source="s", models=[model_info()])
    before = counts(store)
    again = sample_thread()
    summary = store.import_threads([again], scored(again, SCORES), source="s", models=[model_info()])
    assert summary.sources_seen_before == 1 and not summary.changed
    assert (summary.comments_added, summary.comments_updated, summary.comments_unchanged) == (0, 0, 5)
    assert counts(store) == before
    # the same content from another file name: logged as an import, but no comment or score added
    summary = store.import_threads([sample_thread()], None, source="copy-of-s")
    after = counts(store)
    assert after["imports"] == before["imports"] + 1 and after["comments"] == before["comments"]
    assert after["scores"] == before["scores"]


def test_relative_times_read_again_later_are_not_a_change(store: Store) -> None:
    def page(now: datetime) -> Thread:  # as a pasted page says '4 months ago', read at ``now``
        return Thread.build(
            "page",
            [
                Comment("a", "hi", created_at=now - timedelta(days=120), created_precision="month"),
                Comment("b", "exact", created_at=WHEN, created_precision="second"),
            ],
        )

    store.import_threads([page(WHEN)], None, source="page.txt", sha256="1" * 64)
    summary = store.import_threads([page(WHEN + timedelta(days=3))], None, source="page.txt", sha256="1" * 64)
    assert (summary.comments_updated, summary.comments_unchanged) == (0, 2)
    assert store.load_thread("page").thread.get("a").created_at == WHEN - timedelta(days=120)


def test_changed_comment_is_updated_and_old_scores_kept(store: Store) -> None:
    thread = sample_thread()
    store.import_threads([thread], scored(thread, SCORES), source="s", models=[model_info()])
    risk_before = store.list_threads()[0]["risk"]
    edited = sample_thread(text_b="I disagree, respectfully")
    new_scores = {**SCORES, "b": {"toxicity": 0.05, "insult": 0.01}}
    summary = store.import_threads([edited], scored(edited, new_scores), source="s-v2", models=[model_info()])
    assert (summary.comments_updated, summary.comments_unchanged, summary.scores_added) == (1, 4, 2)
    detail = store.comment("th-1", "b")
    assert detail["text"] == "I disagree, respectfully" and detail["revision"] == 2
    assert detail["scores"]["toxicity"]["value"] == 0.05
    old = [h for h in detail["history"] if not h["current"]]
    assert {(h["revision"], h["label"], h["value"]) for h in old} == {(1, "toxicity", 0.92), (1, "insult", 0.8)}
    assert store.load_thread("th-1").scores["b"] == {"toxicity": 0.05, "insult": 0.01}
    assert store.list_threads()[0]["risk"] < risk_before  # statistics follow the import
    # an import without scores leaves the current text unscored rather than guessing
    summary = store.import_threads([sample_thread(text_b="third wording")], None, source="s-v3")
    assert "b" not in store.load_thread("th-1").scores


def test_newer_model_scores_sit_beside_older_ones(store: Store) -> None:
    thread = sample_thread()
    store.import_threads([thread], scored(thread, SCORES), source="s", models=[model_info()])
    v2 = model_info("fp-tox-2", name="test-tox-v2")
    rescored = {k: {"toxicity": 0.99} for k in SCORES}
    summary = store.import_threads([thread], scored(thread, rescored, v2), source="s", models=[v2])
    assert summary.scores_added == 5 and summary.comments_added == 0
    loaded = store.load_thread("th-1")
    assert loaded.scores["a"] == {"toxicity": 0.99, "insult": 0.05}  # insult only from the old model
    assert loaded.models["toxicity"] == "test-tox-v2@fp-tox-2"
    assert store.list_threads()[0]["toxic"] == 4
    history = store.comment("th-1", "a")["history"]
    assert {h["model"] for h in history} == {"test-tox@fp-tox-1", "test-tox-v2@fp-tox-2"}
    assert store.scored_text_hashes(["th-1"], ["fp-tox-1", "fp-tox-2"]).keys() == {("th-1", k) for k in SCORES}


def test_list_threads_ranks_by_risk_and_filters(store: Store) -> None:
    threads = []
    for n in range(3):
        comments = [Comment(f"c{i}", f"c{i}", parent_id=None if i == 0 else "c0", author=f"u{i}") for i in range(6)]
        threads.append(Thread.build(f"t{n}_x%", comments, extra={"title": f"Thread {n}"}))
    records = [
        r
        for th, level in zip(threads, [0.1, 0.9, 0.5])
        for r in scored(th, {f"c{i}": {"toxicity": level} for i in range(6)})
    ]
    store.import_threads(threads, records, source="many", models=[model_info()])
    assert [r["thread_id"] for r in store.list_threads()] == ["t1_x%", "t2_x%", "t0_x%"]
    assert [r["thread_id"] for r in store.list_threads(limit=1, offset=1)] == ["t2_x%"]
    assert [r["thread_id"] for r in store.list_threads(min_risk=0.5)] == ["t1_x%"]
    assert [r["thread_id"] for r in store.list_threads(search="THREAD 0")] == ["t0_x%"]
    assert store.list_threads(search="t1_x%")[0]["thread_id"] == "t1_x%"
    assert store.list_threads(search="t1x") == []  # '_' is literal, not a wildcard
    assert store.count_threads() == 3 and store.count_threads(min_risk=0.5) == 1
    with pytest.raises(ValueError):
        store.list_threads(order="drop table")


HOSTILE = [
    "'); DROP TABLE comments; --",
    '" OR 1=1 --',
    "NUL\x00inside",
    "lone \ud800 surrogate",
    "%_\\ like wildcards",
    "\x1b[31mred\x1b[0m \u202eRTL override",
    "emoji 😀 and 中文",
    "x" * 100_000,
]


def test_hostile_text_is_stored_as_data(store: Store) -> None:
    comments = [Comment(f"h{i}", body, author=body[:50]) for i, body in enumerate(HOSTILE)]
    comments.append(Comment("id'; DROP TABLE threads;--", "id is hostile too"))
    thread = Thread.build("'; DELETE FROM threads; --", comments)
    store.import_threads([thread], None, source="hostile\x00'")
    loaded = store.load_thread("'; DELETE FROM threads; --").thread
    for i, original in enumerate(HOSTILE):
        expected = original.replace("\x00", "\ufffd").replace("\ud800", "\ufffd")
        assert loaded.get(f"h{i}").text == expected
    assert loaded.get("id'; DROP TABLE threads;--").text == "id is hostile too"
    assert counts(store)["comments"] == len(HOSTILE) + 1
    # the same import again is recognised as unchanged (hashes are of the original text)
    again = Thread.build(
        "'; DELETE FROM threads; --",
        [Comment(f"h{i}", body, author=body[:50]) for i, body in enumerate(HOSTILE)]
        + [Comment("id'; DROP TABLE threads;--", "id is hostile too")],
    )
    assert store.import_threads([again], None, source="hostile\x00'").comments_updated == 0


def test_verdicts_review_queue_and_staleness(store: Store) -> None:
    thread = sample_thread()
    store.import_threads([thread], scored(thread, SCORES), source="s", models=[model_info()])
    queue = store.review_queue("toxicity")
    assert [(r["comment_id"], r["score"]) for r in queue] == [("b", 0.92), ("c", 0.7)]
    near = store.review_queue("toxicity", threshold=0.5, band=0.5)
    assert [r["comment_id"] for r in near] == ["c", "d", "a", "b"]  # closest to 0.5 first; the post (0.01) left out
    assert [r["comment_id"] for r in store.review_queue("toxicity", band=0.35)] == ["c", "d"]
    vid = store.add_verdict("th-1", "b", reviewer="mod1", decision="remove", labels={"insult": 1}, note="rude")
    store.add_verdict("th-1", "c", reviewer="mod2", decision="approve")
    store.add_verdict("th-1", "a", reviewer="mod2", decision="relabel", labels={"toxicity": 0, "sentiment": "positive"})
    assert vid > 0
    assert [r["comment_id"] for r in store.review_queue("toxicity")] == []
    assert len(store.review_queue("toxicity", include_reviewed=True)) == 2
    assert [v["comment_id"] for v in store.verdicts(reviewer="mod2")] == ["a", "c"]
    assert store.verdicts(thread_id="th-1", comment_id="b")[0]["labels"] == {"insult": 1}
    for bad in [
        dict(decision="ban"),
        dict(decision="relabel"),
        dict(decision="relabel", labels={"toxicity": 2}),
        dict(decision="remove", labels={"made_up": 1}),
        dict(decision="approve", labels={"sentiment": "meh"}),
    ]:
        with pytest.raises(AnalyzerError):
            store.add_verdict("th-1", "b", reviewer="x", **bad)
    with pytest.raises(AnalyzerError):
        store.add_verdict("th-1", "nope", reviewer="x", decision="approve")
    with pytest.raises(AnalyzerError):
        store.add_verdict("th-1", "b", reviewer=" ", decision="approve")
    edited = sample_thread(text_b="edited later")
    store.import_threads([edited], None, source="s2")
    assert store.verdicts(comment_id="b")[0]["stale"] is True


def test_exports_csv_parquet_and_training_format(store: Store, tmp_path: Path) -> None:
    import pandas as pd

    from analyzer.training.data import load_labeled

    tmp_path = tmp_path / "out"
    tmp_path.mkdir()

    thread = sample_thread()
    store.import_threads([thread], scored(thread, SCORES), source="s", models=[model_info()])
    store.add_verdict("th-1", "b", reviewer="m", decision="remove", labels={"insult": 1})
    store.add_verdict("th-1", "c", reviewer="m", decision="approve")
    store.add_verdict(
        "th-1", "a", reviewer="m", decision="relabel", labels={"identity_attack": 0, "sentiment": "positive"}
    )
    store.add_verdict("th-1", "a", reviewer="m2", decision="approve")  # the latest verdict per comment wins
    assert store.export(tmp_path / "all.csv") == 5
    csv_rows = pd.read_csv(tmp_path / "all.csv", keep_default_na=False, dtype=str)
    assert list(csv_rows["comment_id"]) == ["p", "a", "b", "c", "d"]
    b = csv_rows.set_index("comment_id").loc["b"]
    assert float(b["toxicity"]) == 0.92 and b["verdict"] == "remove" and b["verdicts"] == "1"
    assert store.export(tmp_path / "all.parquet") == 5
    pq = pd.read_parquet(tmp_path / "all.parquet").set_index("comment_id")
    assert (
        pq.loc["c", "verdict"] == "approve"
        and pq.loc["a", "verdicts"] == 2
        and pq.loc["p", "insult"] != pq.loc["p", "insult"]
    )
    assert store.export_training(tmp_path / "train.csv") == 3
    data = load_labeled([tmp_path / "train.csv"], "toxicity")
    rows = dict(zip(data.texts, data.y.tolist()))
    assert data.labels[:3] == ["toxicity", "insult", "identity_attack"]
    assert rows["you are an idiot"][:2] == [1.0, 1.0] and rows["you are an idiot"][2] != rows["you are an idiot"][2]
    assert rows["no, you are"] == [0.0, 0.0, 0.0] and rows["first!"] == [0.0, 0.0, 0.0]
    store.add_verdict("th-1", "d", reviewer="m", decision="relabel", labels={"sentiment": "negative"})
    assert store.export_training(tmp_path / "sent.csv", task="sentiment") == 1
    sent = load_labeled([tmp_path / "sent.csv"], "sentiment")
    assert sent.texts == ["orphan"] and sent.y.tolist() == [0]
    with pytest.raises(AnalyzerError):
        store.export(tmp_path / "all.xlsx")
    with pytest.raises(AnalyzerError):
        store.export(tmp_path / "missing-dir" / "x.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.csv", "all.parquet", "sent.csv", "train.csv"]


def test_csv_export_defuses_spreadsheet_formulas_unless_raw(store: Store, tmp_path: Path) -> None:
    """A comment '=HYPERLINK(...)' must not become a live formula in the reviewer's
    spreadsheet: the comments CSV prefixes such cells with an apostrophe; --raw-csv, Parquet
    and the training CSV keep the text exact."""
    import csv

    import pandas as pd

    from analyzer.thread import Comment, Thread

    payloads = [
        '=HYPERLINK("http://evil.example","x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        "a = b",
        "fine",
    ]
    thread = Thread.build(
        "=th", [Comment(f"c{i}", text, author="=evil" if i == 0 else "ok") for i, text in enumerate(payloads)]
    )
    store.import_threads([thread], None, source="s")
    store.add_verdict("=th", "c1", reviewer="@me", decision="approve", note="-note")
    store.export(tmp_path / "safe.csv", thread_id="=th")
    with open(tmp_path / "safe.csv", newline="", encoding="utf-8") as fh:
        safe = list(csv.DictReader(fh))
    assert [r["text"] for r in safe] == ["'" + p if p[0] in "=+-@\t\r" else p for p in payloads]
    assert safe[0]["author"] == "'=evil" and safe[0]["thread_id"] == "'=th"
    assert safe[1]["verdict_reviewer"] == "'@me" and safe[1]["verdict_note"] == "'-note"
    assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in safe for v in r.values())
    store.export(tmp_path / "raw.csv", thread_id="=th", raw=True)
    raw = pd.read_csv(tmp_path / "raw.csv", keep_default_na=False, dtype=str)
    assert list(raw["text"]) == payloads
    store.export(tmp_path / "exact.parquet", thread_id="=th")
    assert list(pd.read_parquet(tmp_path / "exact.parquet")["text"]) == payloads


def test_failed_import_leaves_the_store_as_it_was(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer.store import importing

    threads, records = synthetic(1, 4, 10)
    store.import_threads(threads[:1], records, source="first", models=[model_info()])
    before, listed = counts(store), store.list_threads()
    real = importing.write_stats
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom half-way")
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "write_stats", failing)
    with pytest.raises(RuntimeError):
        store.import_threads(threads, records, source="second", models=[model_info()])
    assert counts(store) == before and store.list_threads() == listed
    monkeypatch.setattr(importing, "write_stats", real)
    assert store.import_threads(threads, records, source="second", models=[model_info()]).threads_added == 3


def _worker(url: str, seed: int, n: int, m: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(HERE / "store_worker.py"), url, str(seed), str(n), str(m)],
        cwd=HERE,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("worker never reached the pause point")
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_mid_import_leaves_store_consistent_and_rerun_completes(store_url: str, tmp_path: Path) -> None:
    threads, records = synthetic(7, 3, 20)
    with Store.open(store_url) as store:
        store.import_threads(threads, records, source="base", models=[model_info()])
        before, listed = counts(store), store.list_threads(limit=None)
    marker = tmp_path / "paused"
    proc = _worker(
        store_url,
        42,
        40,
        50,
        {"THREAD_ANALYZER_TEST_PAUSE_FILE": str(marker), "THREAD_ANALYZER_TEST_PAUSE_SECONDS": "120"},
    )
    _wait_for(marker, proc)  # 20 of 40 threads written inside the open transaction
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Store.open(store_url) as store:
        assert counts(store) == before and store.list_threads(limit=None) == listed
        if store.dialect == "sqlite":
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    rerun = _worker(store_url, 42, 40, 50)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    with Store.open(store_url) as store:
        after = counts(store)
        assert after["threads"] == before["threads"] + 40 and after["comments"] == before["comments"] + 2000
        assert after["thread_stats"] == after["threads"] and store.count_threads() == 43


@pytest.mark.slow
def test_reader_keeps_reading_while_another_process_writes(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads, records = synthetic(3, 2, 10)
    with Store.open(store_url) as store:
        store.import_threads(threads, records, source="base", models=[model_info()])
    marker = tmp_path / "paused"
    writer = _worker(
        store_url,
        9,
        20,
        50,
        {"THREAD_ANALYZER_TEST_PAUSE_FILE": str(marker), "THREAD_ANALYZER_TEST_PAUSE_SECONDS": "4"},
    )
    try:
        _wait_for(marker, writer)
        monkeypatch.setenv("THREAD_ANALYZER_BUSY_TIMEOUT", "0.5")
        with Store.open(store_url) as reader:  # the writer holds its transaction open now
            start = time.monotonic()
            assert {r["thread_id"] for r in reader.list_threads()} == {t.id for t in threads}
            assert reader.count_threads() == 2
            assert len(reader.load_thread(threads[0].id).thread) == 10
            assert time.monotonic() - start < 2.0, "reads waited for the writer"
            if reader.dialect == "sqlite":  # one writer at a time: a second one is told, not hung
                with pytest.raises(StoreError, match="busy"):
                    reader.add_verdict(threads[0].id, "c1", reviewer="r", decision="approve")
            else:  # PostgreSQL: verdicts do not wait for imports
                reader.add_verdict(threads[0].id, "c1", reviewer="r", decision="approve")
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    finally:
        if writer.poll() is None:
            writer.kill()
    with Store.open(store_url) as reader:
        assert reader.count_threads() == 22


def _create_v1(url: str) -> None:
    engine = make_engine(resolve_url(url))
    now = datetime(2024, 1, 1)
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE: True})
        with conn.begin():
            versions.upgrade(conn, "0001")
            conn.execute(
                text(
                    "INSERT INTO imports (id, source, sha256, format, imported_at, repairs, threads, comments, added, updated,"
                    " unchanged, repaired, scores) VALUES (1, 'old.json', :sha, 'jsonl', :now, '[]', 1, 3, 3, 0, 0, 0, 3)"
                ),
                {"sha": "0" * 64, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO threads (id, title, source, format, post_id, extra, repairs, first_import_id, last_import_id,"
                    " created_at, updated_at) VALUES ('old', 'Old thread', 'old.json', 'jsonl', NULL, '{}', '[]', 1, 1, :now, :now)"
                ),
                {"now": now},
            )
            for pk, (cid, parent, value) in enumerate([("x", None, 0.9), ("y", "x", 0.8), ("z", "y", 0.1)], start=1):
                conn.execute(
                    text(
                        "INSERT INTO comments (pk, thread_id, comment_id, kind, parent_id, depth, position, author,"
                        " author_inferred, text, text_hash, revision, extra, flags, first_import_id, last_import_id, updated_at)"
                        " VALUES (:pk, 'old', :cid, 'comment', :parent, :depth, :pos, :author, :f, :text, :h, 1, '{}', '[]', 1, 1, :now)"
                    ),
                    {
                        "pk": pk,
                        "cid": cid,
                        "parent": parent,
                        "depth": pk,
                        "pos": pk,
                        "author": f"u{pk}",
                        "f": False,
                        "text": f"text {cid}",
                        "h": "0" * 32,
                        "now": now,
                    },
                )
                if pk == 1:
                    conn.execute(
                        text(
                            "INSERT INTO models (id, fingerprint, name, task, labels, thresholds, card, first_seen)"
                            " VALUES (1, 'oldfp', 'old-model', 'toxicity', '[\"toxicity\"]', '{\"toxicity\": 0.5}', NULL, :now)"
                        ),
                        {"now": now},
                    )
                conn.execute(
                    text(
                        "INSERT INTO scores (comment_pk, revision, model_id, label, value, windowed)"
                        " VALUES (:pk, 1, 1, 'toxicity', :v, :f)"
                    ),
                    {"pk": pk, "v": value, "f": False},
                )
            if conn.dialect.name == "postgresql":  # explicit ids above: move the sequences on
                for table, col in (("imports", "id"), ("comments", "pk"), ("models", "id")):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'),"
                            f" (SELECT max({col}) FROM {table}))"
                        )
                    )
    engine.dispose()


def test_store_made_by_schema_v1_opens_and_upgrades(store_url: str) -> None:
    _create_v1(store_url)
    with pytest.raises(StoreError, match="0001"):
        Store.open(store_url, migrate=False)
    with Store.open(store_url) as store:
        assert store.schema_version() == versions.head_revision()
        [row] = store.list_threads()  # statistics computed for threads stored before they existed
        assert (row["thread_id"], row["comments"], row["toxic"]) == ("old", 3, 2) and row["risk"] > 0
        loaded = store.load_thread("old")
        assert loaded.scores["x"] == {"toxicity": 0.9} and loaded.models == {"toxicity": "old-model@oldfp"}
        thread = Thread.build("new", [Comment("n1", "hello")])
        assert store.import_threads([thread], None, source="new").threads_added == 1
        assert store.count_threads() == 2


def test_opening_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store here"):
        Store.open(tmp_path / "absent.db", create=False)
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "no-dir" / "x.db")
    with pytest.raises(StoreError, match="directory"):
        Store.open(tmp_path)
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not an SQLite database|not a thread-analyzer store"):
        Store.open(tmp_path / "junk.db")
    with pytest.raises(StoreError, match="unsupported"):
        Store.open("mysql://x@y/z")
    with pytest.raises(StoreError, match="cannot connect"):
        Store.open("postgresql+psycopg://nobody:pw@127.0.0.1:1/none?connect_timeout=2")
    other = tmp_path / "other.db"
    engine = create_engine(f"sqlite:///{other}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE threads (x int)")
    engine.dispose()
    with pytest.raises(StoreError, match="no thread-analyzer schema"):
        Store.open(other)


def test_sqlite_env_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(tmp_path / "env.db"))
    with Store.open() as store:
        assert store.url == str(tmp_path / "env.db")
    monkeypatch.delenv("THREAD_ANALYZER_DB")
    monkeypatch.chdir(tmp_path)
    assert resolve_url(None).database == str(tmp_path / "thread_analyzer.db")
    assert resolve_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"


def test_full_disk_and_read_only_sqlite_give_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    threads, records = synthetic(5, 1, 5)
    with Store.open(path) as store:
        store.import_threads(threads, records, source="base", models=[model_info()])
        before = counts(store)
        pages = store.engine.connect().exec_driver_sql("PRAGMA page_count").scalar()

        @event.listens_for(store.engine, "connect")
        def _limit(dbapi_conn, _record):  # a disk with room for two more pages
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")

        store.engine.dispose()
        big, big_records = synthetic(6, 20, 200)
        with pytest.raises(StoreError, match="full"):
            store.import_threads(big, big_records, source="big", models=[model_info()])
        event.remove(store.engine, "connect", _limit)
        store.engine.dispose()
        assert counts(store) == before
    with Store.open(f"sqlite:///file:{path}?mode=ro&uri=true") as ro:
        assert ro.count_threads() == 1
        with pytest.raises(StoreError, match="read-only"):
            ro.import_threads(big[:1], None, source="x")
        with pytest.raises(StoreError, match="read-only"):
            ro.add_verdict(threads[0].id, "c1", reviewer="r", decision="approve")


@pytest.mark.postgres
def test_read_only_postgres_gives_a_clear_error(pg_database: str | None) -> None:
    if pg_database is None:
        pytest.skip("needs THREAD_ANALYZER_TEST_PG_URL")
    from conftest_store import fresh_pg_schema
    from sqlalchemy.engine import make_url

    url = fresh_pg_schema(pg_database)
    with Store.open(url) as store:
        store.import_threads(*synthetic(2, 1, 3), source="base", models=[model_info()])
    opts = make_url(url).query["options"] + " -cdefault_transaction_read_only=on"
    ro = make_url(url).update_query_dict({"options": opts}).render_as_string(hide_password=False)
    with Store.open(ro) as store:
        assert store.count_threads() == 1
        with pytest.raises(StoreError, match="read-only"):
            store.import_threads(*synthetic(3, 1, 3), source="more", models=[model_info()])
