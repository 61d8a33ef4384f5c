"""The dashboard with in-context scores (issue 16), through Streamlit's ``AppTest`` on a real
SQLite store: the thread page measures in context by default and says so, its toggle
switches to the scores alone, the tree marks replies much more toxic in context ("hostile
in reply to …", the parent's hostile author and text escaped) past a settable margin; the
comment page shows both scores beside the parent text; the Overview ranks either way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from dashboard_data import REPO, open_page
from store_helpers import model_info, scored

from analyzer.store import ModelInfo, Store
from analyzer.thread import Comment, Thread

pytest_plugins = ["conftest_models", "conftest_dashboard"]

TIMEOUT = 180
WHEN = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
CONTEXT = ModelInfo("tiny-ctx", "fp-ctx", "toxicity", ("toxicity",), {"toxicity": 0.5}, context="parent")
HOSTILE_AUTHOR = "<b>mallory</b>"
PARENT_TEXT = "<script>window.__pwned=1</script> they should all be deported"


def context_thread() -> Thread:
    post = Comment("p", "A story about migration", author="editor", extra={"title": "Border news"})
    comments = [
        Comment("a", PARENT_TEXT, parent_id="p", author=HOSTILE_AUTHOR, created_at=WHEN),
        Comment("b", "exactly, you first", parent_id="a", author="bob", created_at=WHEN),
        Comment("c", "I disagree with that", parent_id="a", author="cat", created_at=WHEN),
    ]
    return Thread.build("ctx", comments, post=post, source="ctx.json", format="jsonl")


def plain_thread() -> Thread:
    comments = [
        Comment("x", "you are all wrong", author="u", created_at=WHEN),
        Comment("y", "no", parent_id="x", author="v", created_at=WHEN),
    ]
    return Thread.build("plain", comments, source="plain.json", format="csv")


@pytest.fixture(scope="module")
def ctx_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("ctx-dash") / "store.db"
    thread = context_thread()
    plain = {"a": {"toxicity": 0.3, "insult": 0.2}, "b": {"toxicity": 0.1, "insult": 0.05}, "c": {"toxicity": 0.1}}
    in_context = {"a": {"toxicity": 0.35}, "b": {"toxicity": 0.9}, "c": {"toxicity": 0.15}}
    records = [
        {**r, "context_scores": in_context[r["id"]], "context_models": {"toxicity": CONTEXT.version}}
        if r["id"] in in_context
        else r
        for r in scored(thread, plain)
    ]
    other = plain_thread()
    with Store.open(db) as store:
        store.import_threads([thread], records, source="ctx", models=[model_info(), CONTEXT])
        store.import_threads([other], scored(other, {"x": {"toxicity": 0.7}, "y": {"toxicity": 0.2}}), source="plain")
    return db


@pytest.fixture
def app(ctx_db: Path, dashboard_models: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:  # noqa: F821
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("THREAD_ANALYZER_DB", str(ctx_db))
    monkeypatch.setenv("THREAD_ANALYZER_MODELS", str(dashboard_models))
    st.cache_data.clear()
    yield AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    st.cache_data.clear()


def texts(at) -> str:  # type: ignore[no-untyped-def]
    parts = [e.value for kind in ("title", "subheader", "caption", "markdown", "text") for e in at.get(kind)]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))


def tree_block(at) -> str:  # type: ignore[no-untyped-def]
    (block,) = [e.proto.body for e in at.get("html") if 'class="ta-tree"' in e.proto.body]
    return block


def comment_block(block: str, cid: str) -> str:
    """The <summary> header of one comment in the tree HTML."""
    start = block.index(f'data-comment-id="{cid}"')
    return block[start : block.index("</summary>", start)]


def test_thread_page_marks_replies_hostile_in_context_and_toggles(app) -> None:  # type: ignore[no-untyped-def]
    at = open_page(app, "thread", thread="ctx")
    page = texts(at)
    assert "toxicity (in context)" in page  # the page says which scores it uses
    assert {m.label: m.value for m in at.metric}["Share toxic"] == "33.3%"  # b is toxic read with its parent
    block = tree_block(at)
    assert "hostile in reply to" in comment_block(block, "b")
    assert "hostile in reply to" not in comment_block(block, "c")  # 0.15 vs 0.10: under the margin
    assert "hostile in reply to" not in comment_block(block, "a")  # a top-level comment, 0.35 vs 0.30
    # the parent's author and words reach the page escaped, never as markup
    assert "&lt;b&gt;mallory&lt;/b&gt;" in comment_block(block, "b")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in comment_block(block, "b")
    assert "<script" not in block and "<b>mallory" not in block

    at.toggle(key="th_ctx").set_value(False).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Share toxic"] == "0.0%"  # alone nobody is toxic
    assert "read alone" in texts(at) and at.query_params["ctx"] == "0"
    assert "hostile in reply to" in comment_block(tree_block(at), "b")  # the mark says what context changed

    at.number_input(key="th_margin").set_value(0.9).run()
    assert not at.exception and at.query_params["margin"] == "0.9"
    assert "hostile in reply to" not in tree_block(at)


def test_thread_page_margin_and_choice_from_the_link(app) -> None:  # type: ignore[no-untyped-def]
    at = open_page(app, "thread", thread="ctx", ctx="0", margin="0.02")
    assert at.toggle(key="th_ctx").value is False
    block = tree_block(at)
    assert "hostile in reply to" in comment_block(block, "c")  # 0.15 - 0.10 > 0.02
    assert "hostile in reply to" in comment_block(block, "a")  # top level: read with the post
    assert "the post" in comment_block(block, "a") and "Border news" in comment_block(block, "a")


def test_thread_without_context_scores_has_no_toggle(app) -> None:  # type: ignore[no-untyped-def]
    at = open_page(app, "thread", thread="plain")
    assert not [t for t in at.toggle if t.key == "th_ctx"]
    assert "(in context)" not in texts(at) and "hostile in reply to" not in tree_block(at)


def test_comment_page_shows_both_scores_beside_the_parent(app) -> None:  # type: ignore[no-untyped-def]
    at = open_page(app, "comment", thread="ctx", comment="b")
    page = texts(at)
    assert "Alone and in context" in page
    frame = next(d.value for d in at.dataframe if "score (in context)" in d.value.columns)
    row = frame[frame["label"] == "toxicity"].iloc[0]
    assert row["score (alone)"] == pytest.approx(0.1) and row["score (in context)"] == pytest.approx(0.9)
    assert row["difference"] == pytest.approx(0.8) and bool(row["above in context"]) is True
    assert "Read in context with the comment it answers, by <b>mallory</b>" in page
    assert PARENT_TEXT in [t.value for t in at.text]  # verbatim, through st.text (never rendered)

    top = open_page(app, "comment", thread="ctx", comment="a")
    assert "Read in context with the post" in texts(top)
    assert "Border news\nA story about migration" in [t.value for t in top.text]

    plain = open_page(app, "comment", thread="plain", comment="y")
    assert "Alone and in context" not in texts(plain)


def test_overview_ranks_in_context_by_default_and_alone_on_request(app) -> None:  # type: ignore[no-untyped-def]
    at = app.run()
    assert not at.exception
    frame = at.dataframe[0].value
    rows = dict(zip(frame["id"], frame["scores"]))
    assert rows == {"ctx": "in context", "plain": "alone"}
    risk_in_context = float(frame[frame["id"] == "ctx"]["risk"].iloc[0])
    assert "in context where a context model scored them" in texts(at)

    at.toggle(key="ov_ctx").set_value(False).run()
    assert not at.exception and at.query_params["ctx"] == "0"
    frame = at.dataframe[0].value
    assert set(frame["scores"]) == {"alone"}
    assert float(frame[frame["id"] == "ctx"]["risk"].iloc[0]) < risk_in_context
    assert "every comment alone" in texts(at)


def test_comment_page_explains_the_in_context_score_over_reply_and_parent(
    ctx_db: Path, dashboard_models: Path, tiny_model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a context model loaded, the comment page attributes the in-context score to the
    words of the parent and of the reply, each word escaped in its own span."""
    import time

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    root = tmp_path / "models"
    root.mkdir()
    for folder in dashboard_models.iterdir():
        (root / folder.name).symlink_to(folder, target_is_directory=True)
    tiny_model(
        root / "tiny-ctx",
        labels=["toxicity"],
        problem_type="multi_label_classification",
        analyzer={"task": "toxicity", "context": "parent", "default": True, "max_length": 64},
        seed=5,
    )
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(ctx_db))
    monkeypatch.setenv("THREAD_ANALYZER_MODELS", str(root))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = open_page(
        AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT), "comment", thread="ctx", comment="b"
    )

    def explained() -> list[str]:
        return [e.proto.body for e in at.get("html") if "ta-explained" in e.proto.body]

    for _ in range(120):  # computed in a background thread: shown by a later run
        if len(explained()) >= 2:
            break
        time.sleep(0.5)
        at.run()
    assert "Why the in-context toxicity score" in texts(at)
    blocks = explained()
    parent_block, reply_block = blocks[-2], blocks[-1]
    assert parent_block.count('class="ta-word"') == len(PARENT_TEXT.split())
    assert reply_block.count('class="ta-word"') == 3  # "exactly,", "you", "first"
    assert "<script" not in parent_block and "&lt;script&gt;" in parent_block
    st.cache_resource.clear()
