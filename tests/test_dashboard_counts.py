"""Posts are not comments (issue 15, defect 7): the import summary line (``analyzer ingest``,
``analyzer demo`` and the dashboard's Import page) and the export count a thread's post
apart from its comments. On a real SQLite store with hand-built threads."""

from __future__ import annotations

import csv
from pathlib import Path

from store_helpers import model_info, scored

from analyzer import pipeline
from analyzer.store import Store
from analyzer.thread import Comment, Thread


def with_post(tid: str, n: int) -> Thread:
    post = Comment("p", "the article", author="editor", kind="post")
    comments = [Comment(f"c{i}", f"comment {i}", parent_id="p", author=f"u{i}") for i in range(n)]
    return Thread.build(tid, comments, post=post, source=f"{tid}.jsonl", format="jsonl")


def without_post(tid: str, n: int) -> Thread:
    return Thread.build(
        tid, [Comment(f"c{i}", f"comment {i}", author=f"u{i}") for i in range(n)], source=f"{tid}.jsonl"
    )


def test_summary_line_counts_posts_apart_from_comments(tmp_path: Path) -> None:
    a, b = with_post("a", 3), without_post("b", 2)
    with Store.open(tmp_path / "s.db") as store:
        s = store.import_threads([a, b], scored(a, {}) + scored(b, {}), source="ab.jsonl", models=[model_info()])
        assert (s.posts_added, s.posts_updated, s.posts_unchanged) == (1, 0, 0)
        assert s.only_comments == (5, 0, 0)
        line = pipeline.summary_line(s, 2, "the store")
        assert "posts 1 added, 0 updated, 0 unchanged; comments 5 added, 0 updated, 0 unchanged" in line

        a2 = with_post("a", 4)  # one more comment; the post as it was
        s = store.import_threads([a2], scored(a2, {}), source="a2.jsonl", models=[model_info()])
        assert (s.posts_added, s.posts_unchanged, s.only_comments) == (0, 1, (1, 0, 3))
        line = pipeline.summary_line(s, 1, "the store")
        assert "posts 0 added, 0 updated, 1 unchanged; comments 1 added, 0 updated, 3 unchanged" in line

        s = store.import_threads([b], scored(b, {}), source="b-only.jsonl", models=[model_info()])
        assert "posts" not in pipeline.summary_line(s, 1, "the store")  # no post, no posts part


def test_export_counts_posts_apart_from_comments(tmp_path: Path) -> None:
    a, b = with_post("a", 3), without_post("b", 2)
    with Store.open(tmp_path / "s.db") as store:
        store.import_threads([a, b], scored(a, {}) + scored(b, {}), source="ab.jsonl", models=[model_info()])
        written = store.export(tmp_path / "all.csv")
        assert (written, written.posts, written.comments) == (6, 1, 5)
        assert written.describe() == "5 comment(s) and 1 post(s)"
        with open(tmp_path / "all.csv", newline="", encoding="utf-8") as fh:
            kinds = [r["kind"] for r in csv.DictReader(fh)]
        assert kinds.count("post") == 1 and kinds.count("comment") == 5
        one = store.export(tmp_path / "b.parquet", thread_id="b")
        assert (one.posts, one.comments, one.describe()) == (0, 2, "2 comment(s)")
