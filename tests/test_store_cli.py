"""``analyzer ingest / threads / report / export`` end to end (with --no-score: no model
needed), on the copied news page and the Hacker News threads from ../shared/data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.store import Store
from analyzer.thread import Comment, Thread

pytest_plugins = ["conftest_store", "conftest_models"]

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "threads"
PASTED = DATA / "pasted" / "000_f069c0dac730660c.txt"
HN = DATA / "hackernews"
NOW = "2024-06-01T00:00:00Z"
needs_data = pytest.mark.skipif(not (PASTED.exists() and HN.is_dir()), reason=f"shared data not found at {DATA}")


def run(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run the real entry point (errors -> one line, exit 2) and capture its output."""
    monkeypatch.setattr(sys, "argv", ["analyzer", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@needs_data
def test_ingest_threads_report_export(store_url: str, tmp_path: Path, capsys, monkeypatch) -> None:
    code, out, err = run(
        ["ingest", str(PASTED), str(HN), "--db", store_url, "--no-score", "--now", NOW], capsys, monkeypatch
    )
    assert code == 0, err
    assert (
        "3 thread(s)" in out
        and "posts 3 added, 0 updated, 0 unchanged; comments 2211 added, 0 updated, 0 unchanged" in out
    )

    code, out, _ = run(["ingest", str(PASTED), "--db", store_url, "--no-score", "--now", NOW], capsys, monkeypatch)
    assert code == 0 and "(1 already imported)" in out and "comments 0 added, 0 updated, 21 unchanged" in out

    code, out, _ = run(["threads", "--db", store_url, "--format", "json"], capsys, monkeypatch)
    listed = json.loads(out)
    assert {r["thread_id"] for r in listed} == {"000_f069c0dac730660c", "hn:1", "hn:25015967"}
    assert {r["thread_id"]: r["comments"] for r in listed}["hn:25015967"] == 2170
    code, out, _ = run(["threads", "--db", store_url], capsys, monkeypatch)
    assert code == 0 and out.splitlines()[0].split()[:3] == ["risk", "thread", "comments"] and "hn:1" in out

    for thread_id in ("000_f069c0dac730660c", "hn:25015967"):
        code, out, err = run(["report", thread_id, "--db", store_url, "--format", "json"], capsys, monkeypatch)
        assert code == 0, err
        report = json.loads(out)
        assert report["thread_id"] == thread_id and report["summary"]["comments"] > 0
        assert {
            "toxicity_by_depth",
            "escalation",
            "turning_point",
            "hottest_subthreads",
            "authors",
            "over_time",
        } <= report.keys()
        code, out, err = run(["report", thread_id, "--db", store_url], capsys, monkeypatch)
        assert code == 0 and out.startswith("# Thread") and "## Toxicity by depth" in out and "## Over time" in out
    assert (
        json.loads(run(["report", "hn:25015967", "--db", store_url, "--format", "json"], capsys, monkeypatch)[1])[
            "summary"
        ]["authors"]
        > 1000
    )

    with Store.open(store_url) as store:
        store.add_verdict("hn:1", store.load_thread("hn:1").thread.comments[0].id, reviewer="me", decision="remove")
    code, out, err = run(
        [
            "export",
            "--db",
            store_url,
            "--out",
            str(tmp_path / "all.parquet"),
            "--verdicts-for-training",
            str(tmp_path / "train.csv"),
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert "wrote 2,211 comment(s) and 3 post(s)" in out and "wrote 1 toxicity training row(s)" in out
    code, out, _ = run(
        ["export", "--db", store_url, "--out", str(tmp_path / "one.csv"), "--thread", "hn:1"], capsys, monkeypatch
    )
    assert code == 0 and "wrote 20 comment(s) and 1 post(s)" in out  # 20 comments and the story


def test_user_errors_are_one_line_and_leave_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    db = str(tmp_path / "s.db")
    bad = tmp_path / "junk.json"
    bad.write_bytes(b"{not json at all \xff\xfe")
    code, out, err = run(["ingest", str(bad), "--db", db, "--no-score"], capsys, monkeypatch)
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not Path(db).exists()  # nothing written, not even an empty store
    code, _, err = run(["ingest", str(tmp_path / "absent.json"), "--db", db, "--no-score"], capsys, monkeypatch)
    assert code == 2 and "no such file" in err
    code, _, err = run(["ingest", str(bad), "--db", db, "--no-score", "--now", "yesterday"], capsys, monkeypatch)
    assert code == 2 and "--now" in err
    for args in (
        ["threads", "--db", db],
        ["report", "x", "--db", db],
        ["export", "--db", db, "--out", str(tmp_path / "x.csv")],
    ):
        code, _, err = run(args, capsys, monkeypatch)
        assert code == 2 and "no store here" in err, args
    good = tmp_path / "ok.jsonl"
    good.write_text('{"id": "1", "thread_id": "t", "text": "hi", "author": "a"}\n', encoding="utf-8")
    assert run(["ingest", str(good), "--db", db, "--no-score"], capsys, monkeypatch)[0] == 0
    before = Path(db).stat().st_size
    code, _, err = run(["ingest", str(good), str(bad), "--db", db, "--no-score"], capsys, monkeypatch)
    assert code == 2  # one bad input among good ones: nothing of either is stored
    with Store.open(db) as store:
        assert store.count_threads() == 1 and len(store.imports()) == 1
    code, _, err = run(["report", "nope", "--db", db], capsys, monkeypatch)
    assert code == 2 and "no thread 'nope'" in err
    code, _, err = run(["export", "--db", db, "--out", str(tmp_path / "x.xlsx")], capsys, monkeypatch)
    assert code == 2 and ".csv or .parquet" in err and not (tmp_path / "x.xlsx").exists()
    code, _, err = run(["export", "--db", db], capsys, monkeypatch)
    assert code == 2 and "nothing to do" in err
    assert before > 0


def test_report_markdown_and_table_neutralise_hostile_text(tmp_path: Path, capsys, monkeypatch) -> None:
    db = str(tmp_path / "s.db")
    evil = "\x1b]0;pwned\x07\x1b[31m[click](http://evil.example) <script>alert(1)</script> | # not a heading"
    comments = [
        Comment("a", evil, author=evil),
        *[Comment(f"r{i}", evil, parent_id="a", author=f"u{i}") for i in range(4)],
    ]
    thread = Thread.build("evil", comments, extra={"title": evil})
    records = [{**r, "scores": {"toxicity": 0.9}, "models": {"toxicity": "m@fp"}} for r in thread.records()]
    with Store.open(db) as store:
        store.import_threads([thread], records, source="evil")
    code, out, _ = run(["report", "evil", "--db", db], capsys, monkeypatch)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "<script>" not in out and "[click](" not in out and "\\[click\\](http" in out  # no live link
    code, out, _ = run(["threads", "--db", db], capsys, monkeypatch)
    assert code == 0 and "\x1b" not in out
    code, out, _ = run(["threads", "--db", db, "--format", "json"], capsys, monkeypatch)
    assert "\x1b" not in out and json.loads(out)[0]["title"].startswith("\x1b]0;pwned")


@needs_data
def test_ingest_scores_with_models_and_skips_what_is_scored(
    store_url: str, toxicity_model_dir: Path, sentiment_model_dir: Path, capsys, monkeypatch
) -> None:
    from analyzer.scoring.scorer import Scorer

    seen: list[int] = []
    real = Scorer.score_records

    def counting(self, records, **kwargs):
        records = list(records)
        seen.append(len(records))
        return real(self, records, **kwargs)

    monkeypatch.setattr(Scorer, "score_records", counting)
    args = [
        "ingest",
        str(PASTED),
        "--db",
        store_url,
        "--now",
        NOW,
        "--model",
        str(toxicity_model_dir),
        "--model",
        str(sentiment_model_dir),
    ]
    code, out, err = run(args, capsys, monkeypatch)
    assert code == 0, err
    assert (
        "posts 1 added" in out and "comments 21 added" in out and "scores 154 added" in out
    )  # 22 records x (4 toxicity + 3 sentiment)
    code, out, err = run(args, capsys, monkeypatch)
    assert code == 0 and "scores 0 added" in out
    assert seen == [22, 0]  # the second run sent nothing to the models
    with Store.open(store_url) as store:
        assert {m["name"] for m in store.models()} == {"tiny-toxicity", "tiny-sentiment"}
        loaded = store.load_thread("000_f069c0dac730660c")
        assert set(loaded.models) == {
            "toxicity",
            "severe_toxicity",
            "insult",
            "identity_attack",
            "negative",
            "neutral",
            "positive",
        }
        assert loaded.thresholds["negative"] == 0.6
    code, out, _ = run(["report", "000_f069c0dac730660c", "--db", store_url, "--format", "json"], capsys, monkeypatch)
    report = json.loads(out)
    assert report["summary"]["scored"] == 21 and report["sentiment"]["n"] == 21
    assert set(report["summary"]["labels"]) == set(loaded.models)
