"""Hostile input: whatever the bytes, a parser returns threads or raises ``InputError`` —
and only a deliberate one (not a converted crash, which would carry a ``__cause__``)."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.errors import InputError
from analyzer.parsers import FORMATS, parse_bytes
from analyzer.thread import Thread

NOW = datetime(2022, 5, 10, tzinfo=timezone.utc)
# THREAD_ANALYZER_FUZZ_EXAMPLES=5000 for a longer hunt than the suite's quick pass
FUZZ = settings(
    max_examples=int(os.environ.get("THREAD_ANALYZER_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ALL_FORMATS = [None, *FORMATS]


def check(data: bytes, fmt: str | None, name: str = "fuzz.dat") -> list[Thread] | None:
    """Parse; a refusal must be a one-line, deliberate ``InputError``; results must be sane."""
    try:
        threads = parse_bytes(data, name=name, format=fmt, now=NOW)
    except InputError as exc:
        assert exc.__cause__ is None, f"{fmt}: a crash converted to InputError: {exc!r}"
        assert "\n" not in str(exc) and str(exc).startswith(name)
        return None
    for t in threads:
        records = list(t.records())
        assert len(records) == len(t.comments) + (t.post is not None)
        json.dumps(records, default=str)
        for c in t.comments:
            parent = t.parent(c.id)
            assert c.depth == (parent.depth + 1 if parent is not None and parent.kind == "comment" else 1)
    return threads


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from(ALL_FORMATS))
def test_random_bytes(data: bytes, fmt: str | None) -> None:
    check(data, fmt)


# ---------------------------------------------------------------------- JSON shapes
KEYS = [
    "kind",
    "data",
    "children",
    "replies",
    "id",
    "name",
    "parent_id",
    "link_id",
    "body",
    "author",
    "created_utc",
    "count",
    "score",
    "comments",
    "level",
    "user",
    "content",
    "time",
    "timeago",
    "items",
    "snippet",
    "topLevelComment",
    "textOriginal",
    "textDisplay",
    "parentId",
    "videoId",
    "channelId",
    "totalReplyCount",
    "authorDisplayName",
    "publishedAt",
    "by",
    "kids",
    "parent",
    "type",
    "text",
    "deleted",
    "dead",
    "title",
    "request_body",
    "response",
    "json",
    "things",
    "structure",
    "conversation_id",
    "reply_to",
    "speaker",
    "timestamp",
    "selftext",
    "authorChannelId",
    "value",
]
VALUES = [
    "Listing",
    "t1",
    "t3",
    "more",
    "youtube#comment",
    "youtube#commentThread",
    "youtube#commentThreadListResponse",
    "youtube#commentListResponse",
    "story",
    "comment",
    "[deleted]",
    "[removed]",
    "t1_a",
    "t3_b",
    "a",
    "b",
    "_",
    "4",
    "months",
    "ago",
    "2019-06-23T02:49:00.000Z",
    "children=a,b",
    "<p>x<p>y",
    "&amp;",
    "<br>",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True),
    st.sampled_from(VALUES),
    st.text(max_size=12),
)
json_docs = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), inner, max_size=6),
    ),
    max_leaves=40,
)


@FUZZ
@given(json_docs, st.sampled_from([None, "reddit", "hackernews", "youtube", "jsonl"]))
def test_random_json_documents(doc: Any, fmt: str | None) -> None:
    check(json.dumps(doc).encode(), fmt, name="fuzz.json")


@FUZZ
@given(
    st.lists(st.dictionaries(st.sampled_from(KEYS), scalars, max_size=6), min_size=1, max_size=8),
    st.sampled_from([None, "jsonl", "pheme"]),
)
def test_random_json_lines(rows: list[dict[str, Any]], fmt: str | None) -> None:
    check("\n".join(json.dumps(r) for r in rows).encode(), fmt, name="fuzz.jsonl")


# ---------------------------------------------------------------------- text shapes
PASTED_LINES = [
    "",
    "",
    "",
    "4 months ago",
    "an hour ago",
    "just now",
    "Reply to  Bob",
    "Reply to Alice",
    "Alice",
    "Bob",
    "Dan W.",
    "Some comment text.",
    "More text, a second paragraph.",
    "Notify of",
    "Oldest Most Voted",
    "View all comments",
    "Would love your thoughts, please comment.x",
    "News / Politics",
    "A title",
    "By Someone",
    "Donate Now",
    "Reply to",
    "0 seconds ago",
]


@FUZZ
@given(st.lists(st.sampled_from(PASTED_LINES), max_size=60), st.sampled_from([None, "pasted"]))
def test_random_pasted_pages(lines: list[str], fmt: str | None) -> None:
    threads = check("\n".join(lines).encode(), fmt, name="page.txt")
    if not threads or threads[0].format != "pasted":
        return
    (t,) = threads
    for k, c in enumerate(t.comments):  # file order
        name = c.extra.get("reply_to_name")
        if name is None or "reply_target_unknown" in c.flags:
            assert c.parent_id == t.root_key
        else:
            parent = t.get(c.parent_id)
            assert parent.author is not None and parent.author.casefold() == name.casefold()
            assert int(parent.id[1:]) < int(c.id[1:])  # replies point backwards
        if c.author_inferred:  # only ever from a later 'Reply to' naming it
            later = [d.extra.get("reply_to_name") for d in t.comments[k + 1 :]]
            assert c.author in later


csv_cells = st.text(alphabet=st.sampled_from(list('ab,;"\n\r\t 1é')), max_size=8)


@FUZZ
@given(
    st.lists(
        st.sampled_from(["id", "text", "body", "parent_id", "reply_to", "thread_id", "author", "time", "x"]),
        min_size=1,
        max_size=5,
        unique=True,
    ),
    st.lists(st.lists(csv_cells, min_size=0, max_size=6), max_size=10),
    st.sampled_from([",", ";", "\t"]),
)
def test_random_csv(header: list[str], rows: list[list[str]], delimiter: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    check(buf.getvalue().encode(), None, name="fuzz.csv")
    check(buf.getvalue().encode(), "csv", name="fuzz.txt")


XML_BITS = [
    '<?xml version="1.0"?>',
    '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">',
    "</disqus>",
    '<thread dsq:id="1">',
    "</thread>",
    '<post dsq:id="2">',
    '<post dsq:id="3">',
    "</post>",
    '<thread dsq:id="1" />',
    '<parent dsq:id="2" />',
    '<parent dsq:id="3" />',
    "<message><![CDATA[<p>hi</p>]]></message>",
    "<isDeleted>true</isDeleted>",
    "<isSpam>true</isSpam>",
    "<author><name>N</name></author>",
    "<title>T</title>",
    "<createdAt>2014-06-21T00:51:15Z</createdAt>",
    "&amp;",
    "&bogus;",
    "<!DOCTYPE x>",
    "text",
]


@FUZZ
@given(st.lists(st.sampled_from(XML_BITS), max_size=30))
def test_random_disqus_xml(bits: list[str]) -> None:
    check("\n".join(bits).encode(), None, name="fuzz.xml")
    check("\n".join(bits).encode(), "disqus", name="fuzz.xml")


def test_well_formed_disqus_from_bits() -> None:
    """The fuzz alphabet can build a valid export (so the fuzzing reaches the tree code)."""
    doc = "\n".join(
        [
            XML_BITS[0],
            XML_BITS[1],
            XML_BITS[3],
            XML_BITS[4],
            XML_BITS[5],
            XML_BITS[8],
            XML_BITS[11],
            XML_BITS[7],
            XML_BITS[6],
            XML_BITS[8],
            XML_BITS[9],
            XML_BITS[7],
            XML_BITS[2],
        ]
    )
    threads = check(doc.encode(), None, name="ok.xml")
    assert threads is not None
    (t,) = threads
    assert [(c.id, c.parent_id, c.depth) for c in t.comments] == [("2", "1", 1), ("3", "2", 2)]
